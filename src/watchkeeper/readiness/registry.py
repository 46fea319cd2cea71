"""The explicit table of readiness checks, in report order. Adding a check = one module
under :mod:`watchkeeper.readiness.checks` + one line here (+ its tests)."""

from __future__ import annotations

from watchkeeper.readiness.check import Check
from watchkeeper.readiness.checks.alerting_coverage import RulesCoverServices
from watchkeeper.readiness.checks.alerting_escalation import EscalationPolicies
from watchkeeper.readiness.checks.alerting_notifications import DeliversTestNotifications
from watchkeeper.readiness.checks.alerting_routes import RoutesReachReceivers
from watchkeeper.readiness.checks.alerting_ruletests import RuleUnitTests
from watchkeeper.readiness.checks.alerting_silences import NoCatchAllSilence
from watchkeeper.readiness.checks.backups_age import NewestBackup
from watchkeeper.readiness.checks.backups_pitr import PointInTimeRecovery
from watchkeeper.readiness.checks.backups_restore import RestoreDrill
from watchkeeper.readiness.checks.cicd_github import LatestRunSucceeded
from watchkeeper.readiness.checks.cicd_vercel import VercelProduction
from watchkeeper.readiness.checks.custom import CustomCheck
from watchkeeper.readiness.checks.deploy_drill import RollbackDrill
from watchkeeper.readiness.checks.deploy_targets import RollbackTargets
from watchkeeper.readiness.checks.monitoring_coverage import ServicesHaveChecks
from watchkeeper.readiness.checks.monitoring_fresh import CollectorsFresh
from watchkeeper.readiness.checks.monitoring_instance import InstanceAnswers
from watchkeeper.readiness.checks.monitoring_selfmetrics import SelfMetrics
from watchkeeper.readiness.checks.monitoring_targets import TargetsUp
from watchkeeper.readiness.checks.performance import PerformanceBaseline
from watchkeeper.readiness.checks.scaling_connections import ConnectionHeadroom
from watchkeeper.readiness.checks.scaling_render import RenderScaling
from watchkeeper.readiness.checks.security_certificate import CertificateValid
from watchkeeper.readiness.checks.security_credentials import NoDefaultCredentials
from watchkeeper.readiness.checks.security_headers import SecurityHeaders
from watchkeeper.readiness.checks.security_hsts import Hsts
from watchkeeper.readiness.checks.security_https import HttpsEnforced
from watchkeeper.readiness.checks.security_secrets import SecretsEncrypted

CHECKS: tuple[type[Check], ...] = (
    ServicesHaveChecks,
    CollectorsFresh,
    TargetsUp,
    InstanceAnswers,
    SelfMetrics,
    RulesCoverServices,
    RoutesReachReceivers,
    RuleUnitTests,
    DeliversTestNotifications,
    EscalationPolicies,
    NoCatchAllSilence,
    NewestBackup,
    PointInTimeRecovery,
    RestoreDrill,
    RenderScaling,
    ConnectionHeadroom,
    LatestRunSucceeded,
    VercelProduction,
    RollbackTargets,
    RollbackDrill,
    PerformanceBaseline,
    HttpsEnforced,
    Hsts,
    CertificateValid,
    SecurityHeaders,
    NoDefaultCredentials,
    SecretsEncrypted,
    CustomCheck,
)


def check_ids() -> list[str]:
    """The ids of the built-in checks (custom checks are ``custom.<name>``)."""
    return [c.id for c in CHECKS if c is not CustomCheck]
