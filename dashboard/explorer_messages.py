"""Catalogue entries of the alerts explorer, the alert page and the assets page."""

from __future__ import annotations

from collections.abc import Mapping

from correlator.organisation import Criticality, UnitKind


def _both(zh: str, en: str) -> Mapping[str, str]:
    return {"zh-CN": zh, "en": en}


_KINDS: Mapping[UnitKind, Mapping[str, str]] = {
    UnitKind.CITY: _both("市", "City"),
    UnitKind.ZONE: _both("共享区域", "Shared zone"),
    UnitKind.COUNTY: _both("县（市）", "County"),
    UnitKind.DISTRICT: _both("区", "District"),
    UnitKind.DEPARTMENT: _both("部门", "Department"),
}
_CRITICALITIES: Mapping[Criticality, Mapping[str, str]] = {
    Criticality.LOW: _both("低", "Low"),
    Criticality.MEDIUM: _both("中", "Medium"),
    Criticality.HIGH: _both("高", "High"),
    Criticality.CRITICAL: _both("关键", "Critical"),
}

EXPLORER_MESSAGES: Mapping[str, Mapping[str, str]] = {
    "nav.alerts": _both("告警", "Alerts"),
    "nav.assets": _both("资产", "Assets"),
    "alerts.heading": _both("告警查询", "Alerts explorer"),
    "alerts.empty": _both("没有符合条件的告警", "No alerts match"),
    "alerts.filter.source": _both("源地址", "Source"),
    "alerts.filter.destination": _both("目的地址", "Destination"),
    "alerts.filter.detector": _both("检测器", "Detector"),
    "alerts.filter.rule": _both("规则", "Rule"),
    "alerts.filter.unit": _both("单位代码", "Unit code"),
    "alerts.filter.since": _both("开始时间", "From"),
    "alerts.filter.until": _both("结束时间", "Until"),
    "alerts.filter.apply": _both("查询", "Search"),
    "alerts.filter.clear": _both("清除条件", "Clear filters"),
    "alerts.panel": _both("统计", "Summary"),
    "alerts.window": _both(
        "{since} 至 {until}：共 {total} 条告警",
        "{since} to {until}: {total} alerts",
    ),
    "alerts.histogram": _both("告警时间分布", "Alerts over time"),
    "alerts.bucket": _both("{time}：{count} 条", "{time}: {count}"),
    "alerts.top_sources": _both("主要源地址", "Top sources"),
    "alerts.top_rules": _both("主要规则", "Top rules"),
    "alerts.top_detectors": _both("主要检测器", "Top detectors"),
    "alert.heading": _both("告警详情", "Alert"),
    "alert.title": _both("告警详情：{rule}", "Alert: {rule}"),
    "alert.back": _both("返回告警查询", "Back to alerts"),
    "alert.id": _both("告警编号", "Alert id"),
    "alert.span": _both("持续时间", "Span"),
    "alert.ports": _both("目的端口", "Destination ports"),
    "alert.sensor": _both("传感器", "Sensor"),
    "alert.incident": _both("所属事件", "Incident"),
    "alert.no_incident": _both("尚未归入事件", "Not part of an incident yet"),
    "alert.evidence": _both("证据引用", "Evidence"),
    "detail.superseded": _both("此事件已并入另一事件：", "This incident was merged into another: "),
    "assets.heading": _both("资产清单", "Assets"),
    "assets.declared": _both("登记单位与网段", "Declared units and subnets"),
    "assets.kind": _both("类型", "Kind"),
    "assets.subnets": _both("网段", "Subnets"),
    "assets.criticality": _both("重要程度", "Criticality"),
    "assets.mlps": _both("等保级别", "MLPS level"),
    "assets.mlps_level": _both("第{level}级", "Level {level}"),
    "assets.no_units": _both("未配置组织架构", "No organisation map is configured"),
    "assets.unknown": _both("未登记主机", "Undeclared hosts"),
    "assets.unknown_note": _both(
        "安全事件涉及、但不属于任何已登记网段的内网地址",
        "Internal addresses in incidents that no declared subnet holds",
    ),
    "assets.no_unknown": _both("未发现未登记主机", "No undeclared hosts seen"),
    **{f"unitkind.{kind}": text for kind, text in _KINDS.items()},
    **{f"criticality.{level}": text for level, text in _CRITICALITIES.items()},
}
"""Explorer and asset UI strings by key, merged into ``i18n.MESSAGES``."""
