"""The one table of detectors: adding a detector is one line here."""

from __future__ import annotations

from collections.abc import Mapping

from detectors.amplification import Amplification
from detectors.anomaly import Anomaly
from detectors.base import Detector
from detectors.beacon import Beacon
from detectors.bruteforce import BruteForce
from detectors.dga import Dga
from detectors.distributed import DistributedScan
from detectors.dnstunnel import DnsTunnel
from detectors.endpointmap import EndpointMap
from detectors.flood import Flood
from detectors.ftpbounce import FtpBounce
from detectors.ids import IdsAlerts
from detectors.intel import Intel
from detectors.portscan import PortScan
from detectors.probescan import ProbeScan
from detectors.trw import ThresholdRandomWalk
from detectors.webattack import WebAttack
from detectors.zonetransfer import ZoneTransfer

REGISTRY: Mapping[str, type[Detector]] = {
    PortScan.name: PortScan,
    ThresholdRandomWalk.name: ThresholdRandomWalk,
    ProbeScan.name: ProbeScan,
    DistributedScan.name: DistributedScan,
    ZoneTransfer.name: ZoneTransfer,
    EndpointMap.name: EndpointMap,
    FtpBounce.name: FtpBounce,
    BruteForce.name: BruteForce,
    Flood.name: Flood,
    Amplification.name: Amplification,
    IdsAlerts.name: IdsAlerts,
    WebAttack.name: WebAttack,
    DnsTunnel.name: DnsTunnel,
    Dga.name: Dga,
    Beacon.name: Beacon,
    Intel.name: Intel,
    Anomaly.name: Anomaly,
}
"""Every detector class, by the name used in settings (``[detectors.NAME]``)."""
