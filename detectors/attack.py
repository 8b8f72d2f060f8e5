"""MITRE ATT&CK tactics that NSSA alerts and incidents are labelled with."""

from __future__ import annotations

from enum import StrEnum


class Tactic(StrEnum):
    """ATT&CK enterprise tactics, valued by their ATT&CK id."""

    RECONNAISSANCE = "TA0043"
    RESOURCE_DEVELOPMENT = "TA0042"
    INITIAL_ACCESS = "TA0001"
    EXECUTION = "TA0002"
    PERSISTENCE = "TA0003"
    PRIVILEGE_ESCALATION = "TA0004"
    DEFENSE_EVASION = "TA0005"
    CREDENTIAL_ACCESS = "TA0006"
    DISCOVERY = "TA0007"
    LATERAL_MOVEMENT = "TA0008"
    COLLECTION = "TA0009"
    COMMAND_AND_CONTROL = "TA0011"
    EXFILTRATION = "TA0010"
    IMPACT = "TA0040"

    @property
    def label(self) -> str:
        """The ATT&CK display name, e.g. ``Credential Access``."""
        return self.name.replace("_", " ").title().replace("And", "and")
