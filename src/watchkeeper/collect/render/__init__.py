"""``type: render``: a Render service, its deploys and its metrics.

Series (labels besides the target's in braces):

* ``watchkeeper_render_service_suspended`` 1/0;
* ``watchkeeper_render_instances`` running instances; ``watchkeeper_render_autoscaling_enabled``,
  ``watchkeeper_render_autoscaling_min_instances``, ``watchkeeper_render_autoscaling_max_instances``
  (without autoscaling min = max = the configured ``numInstances``);
* ``watchkeeper_render_deploy_status{status}`` 1 for the newest deploy's status;
  ``watchkeeper_render_deploy_failed`` 1 when it is build_failed, update_failed or
  pre_deploy_failed; ``watchkeeper_render_deploy_in_progress_seconds`` how long it has been
  running (0 when finished); ``watchkeeper_render_deploy_duration_seconds`` of the newest
  finished deploy;
* from the metrics endpoints, the newest point of each series:
  ``watchkeeper_render_cpu_usage_cores{instance_id}``, ``watchkeeper_render_cpu_limit_cores``,
  ``watchkeeper_render_memory_usage_bytes{instance_id}``,
  ``watchkeeper_render_memory_limit_bytes``,
  ``watchkeeper_render_http_requests_per_second{status_code}`` (the newest bucket divided by
  its resolution), ``watchkeeper_render_http_latency_seconds{quantile}``,
  ``watchkeeper_render_bandwidth_bytes``, ``watchkeeper_render_instance_count``;
* ``watchkeeper_render_api_rate_limit_remaining`` / ``..._api_rate_limit``.

Render's instance ids are kept in ``instance_id`` because ``instance`` is the target label.
"""
