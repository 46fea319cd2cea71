"""``type: github``: GitHub Actions runs of one repository (optionally one workflow) on
one branch.

Series (labels besides the target's in braces; ``workflow`` is the configured workflow
file or "all", ``branch`` the branch):

* ``watchkeeper_github_latest_run_success`` 1/0 for the newest *completed* run;
* ``watchkeeper_github_latest_run_conclusion{conclusion}`` 1 for its conclusion (success,
  failure, cancelled, timed_out, ...);
* ``watchkeeper_github_latest_run_duration_seconds`` its run time;
* ``watchkeeper_github_latest_run_age_seconds`` time since it finished;
* ``watchkeeper_github_failure_streak`` completed runs in a row, newest first, that did
  not succeed (cancelled and skipped runs are not counted either way);
* ``watchkeeper_github_runs_in_progress`` queued or running runs;
* ``watchkeeper_github_api_rate_limit_remaining`` / ``..._api_rate_limit``.
"""
