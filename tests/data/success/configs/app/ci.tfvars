environment   = "staging"
slack_channel = "#deploys"
