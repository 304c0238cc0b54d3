variable "environment" { type = string }
variable "subnets" { type = list(string) }

resource "terraform_data" "vpc" {
  input = { cidr = "10.0.0.0/16", environment = var.environment }
}

resource "terraform_data" "subnet" {
  count = length(var.subnets)
  input = { cidr = var.subnets[count.index], vpc = terraform_data.vpc.id }
}

output "subnet_ids" { value = terraform_data.subnet[*].id }
