variable "name" { type = string }
variable "replicas" { type = number }
variable "subnet" { type = string }
variable "tags" { type = map(string) }

resource "terraform_data" "service" {
  input = {
    name           = var.name
    replicas       = var.replicas
    subnet         = var.subnet
    health_check   = "/healthz"
    error_page     = "/error.html"
    retry_on_error = true
    tags           = var.tags
  }
}

resource "terraform_data" "replica" {
  count = var.replicas
  input = { service = terraform_data.service.id, index = count.index }
}

output "id" { value = terraform_data.service.id }
