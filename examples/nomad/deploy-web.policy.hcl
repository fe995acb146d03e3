# GitHub Actions of your-org/web, environment production: read and deploy the
# jobs of namespace "default" and act on their deployments, nothing else.
namespace "default" {
  capabilities = ["read-job", "submit-job"]
}
