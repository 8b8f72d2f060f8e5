"""Catalogue entries of live updates and the overview's sensor health."""

from __future__ import annotations

from collections.abc import Mapping


def _both(zh: str, en: str) -> Mapping[str, str]:
    return {"zh-CN": zh, "en": en}


LIVE_MESSAGES: Mapping[str, Mapping[str, str]] = {
    "live.changed": _both("有新的或变化的安全事件。", "There are new or changed incidents."),
    "live.refresh": _both("刷新页面", "Refresh"),
    "sensors.heading": _both("探针状态", "Sensor health"),
    "sensors.sensor": _both("探针", "Sensor"),
    "sensors.last_event": _both("最近事件", "Last event"),
    "sensors.last_hour": _both("近1小时事件数", "Events in the last hour"),
    "sensors.state": _both("状态", "State"),
    "sensors.ok": _both("正常", "Reporting"),
    "sensors.stale": _both("静默超过{minutes}分钟", "Silent for over {minutes} min"),
    "sensors.none": _both(
        "近7天没有探针写入事件。", "No sensor has written events in the last 7 days."
    ),
}
"""Every string of this module's features, in every dashboard language."""
