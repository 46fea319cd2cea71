"""``type: vercel``: a Vercel project's production deployments and domains.

Series (labels besides the target's in braces):

* ``watchkeeper_vercel_production_deployment_state{state}`` 1 for the state of the newest
  production deployment (QUEUED, INITIALIZING, BUILDING, READY, ERROR, CANCELED, BLOCKED);
* ``watchkeeper_vercel_production_deployment_failed`` 1 when that deployment is ERROR;
* ``watchkeeper_vercel_deployment_in_progress_seconds`` how long the newest production
  deployment has been queued or building (0 when none is);
* ``watchkeeper_vercel_production_deployment_age_seconds`` age of the deployment serving
  production, ``watchkeeper_vercel_newest_deployment_age_seconds`` age of the newest one;
* ``watchkeeper_vercel_build_duration_seconds`` build time of the newest finished one;
* ``watchkeeper_vercel_deployments{state}`` counts over the recent production deployments
  looked at (``deployments`` in the config), ``watchkeeper_vercel_failed_deployments`` and
  ``watchkeeper_vercel_canceled_deployments`` the same for ERROR and CANCELED;
* ``watchkeeper_vercel_serving_deployment_info{deployment_id,url}`` 1, and
  ``watchkeeper_vercel_serving_is_newest`` 0 after a rollback or a failed newer build;
* ``watchkeeper_vercel_domain_verified{domain}`` 1/0 for the production domains;
* ``watchkeeper_vercel_api_rate_limit_remaining`` / ``..._api_rate_limit``.
"""
