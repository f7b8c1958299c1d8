"""AWS API plumbing shared by the Query services (EC2, IAM) and, in part, by S3."""
