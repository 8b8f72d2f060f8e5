"""A small city for dashboard tests: a bureau, a county with a department, hostile strings."""

from __future__ import annotations

from correlator.incident import IncidentStatus, Stage
from correlator.organisation import OrganisationMap, Unit, UnitKind
from correlator.storage import Store
from detectors.alert import Alert, Severity
from tests.conftest import T0, build_alert, build_incident

XSS = '<script>window.nssaXss = 1; alert("xss")</script><img src=x onerror="window.nssaXss=2">'
"""An attacker-controlled string: it must be shown as text and never run."""

ORGANISATION = OrganisationMap(
    units=(
        Unit(code="city", name="三门峡市", name_en="Sanmenxia", kind=UnitKind.CITY),
        Unit(
            code="police",
            name="市公安局",
            name_en="Municipal Public Security Bureau",
            kind=UnitKind.DEPARTMENT,
            parent="city",
            subnets=("10.10.2.0/24",),
        ),
        Unit(
            code="lushi", name="卢氏县", name_en="Lushi County", kind=UnitKind.COUNTY, parent="city"
        ),
        Unit(
            code="lushi-edu",
            name="卢氏县教育局",
            name_en="Lushi Education Bureau",
            kind=UnitKind.DEPARTMENT,
            parent="lushi",
            subnets=("10.30.5.0/24",),
        ),
    )
)


def fill(store: Store) -> None:
    """Three incidents: the police bureau's, a Lushi department's, and one full of markup."""
    hostile: Alert = build_alert(
        rule="http_xss",
        explanation=f"GET /search?q={XSS}",
        facts={"uri": f"/search?q={XSS}", "user_agent": XSS},
    )
    store.put_alerts([hostile])
    store.put_incidents(
        [
            build_incident(id="inc-police", risk_score=80, severity=Severity.HIGH),
            build_incident(
                id="inc-lushi",
                risk_score=60,
                attackers=("198.51.100.23",),
                victims=("10.30.5.8",),
                units=("lushi-edu",),
                stage=Stage.CREDENTIAL_ACCESS,
                last_seen=T0 + 3600,
            ),
            build_incident(
                id="inc-xss",
                kind="webattack.reflected",
                title=XSS,
                risk_score=30,
                attackers=(XSS,),  # shown in the title whatever the kind's catalogue entry
                alert_ids=(hostile.id,),
                status=IncidentStatus.NEW,
            ),
        ]
    )


PUBLIC_ATTACKER = "8.8.8.8"
"""A source whose registration is stable: United States, AS15169 (Google LLC)."""


def fill_public(store: Store) -> None:
    """The scene plus one incident from a public address, for the country and AS columns."""
    fill(store)
    store.put_incidents(
        [build_incident(id="inc-public", risk_score=50, attackers=(PUBLIC_ATTACKER,))]
    )
