"""The one table of detectors: adding a detector is one line here."""

from __future__ import annotations

from collections.abc import Mapping

from detectors.base import Detector
from detectors.ids import IdsAlerts
from detectors.portscan import PortScan

REGISTRY: Mapping[str, type[Detector]] = {
    PortScan.name: PortScan,
    IdsAlerts.name: IdsAlerts,
}
"""Every detector class, by the name used in settings (``[detectors.NAME]``)."""
