"""Catalogue entries of the 例外 (exceptions) and 报告 (reports) pages."""

from __future__ import annotations

from collections.abc import Mapping


def _both(zh: str, en: str) -> Mapping[str, str]:
    return {"zh-CN": zh, "en": en}


REPORT_MESSAGES: Mapping[str, Mapping[str, str]] = {
    "nav.exceptions": _both("例外", "Exceptions"),
    "nav.report_daily": _both("日报", "Daily report"),
    "nav.report_weekly": _both("周报", "Weekly report"),
    "exception_kind.suppress": _both("抑制", "Suppress"),
    "exception_kind.allow": _both("白名单", "Allow"),
    "exceptions.heading": _both("例外管理", "Exceptions"),
    "exceptions.intro": _both(
        "例外只隐藏告警、不删除告警：命中的告警会被标记，过期后新告警不再被隐藏。",
        "Exceptions hide alerts, never delete them: hidden alerts are marked, and once an"
        " exception expires new alerts show again.",
    ),
    "exceptions.new": _both("新建例外", "New exception"),
    "exceptions.edit_heading": _both("修订例外", "Revise an exception"),
    "exceptions.revises": _both(
        "保存后将生成新版本，并使 {id} 立即过期。",
        "Saving creates a new version and expires {id} at once.",
    ),
    "exceptions.kind": _both("类型", "Kind"),
    "exceptions.detector": _both("检测器", "Detector"),
    "exceptions.source": _both("源地址/网段", "Source address or network"),
    "exceptions.destination": _both("目的地址/网段", "Destination address or network"),
    "exceptions.unit": _both("单位", "Unit"),
    "exceptions.any_unit": _both("不限单位", "Any unit"),
    "exceptions.sensor": _both("传感器", "Sensor"),
    "exceptions.starts": _both("告警时间自", "Alerts from"),
    "exceptions.ends": _both("告警时间至", "Alerts until"),
    "exceptions.reason": _both("原因", "Reason"),
    "exceptions.expires": _both("有效期至（含当日）", "Expires after (day included)"),
    "exceptions.owner": _both("负责人", "Owner"),
    "exceptions.owner_note": _both(
        "负责人为当前登录用户 {name}；所有变更均记入审计日志。",
        "The owner is you ({name}); every change is written to the audit log.",
    ),
    "exceptions.preview": _both("预览影响", "Preview"),
    "exceptions.preview_heading": _both("影响预览", "Preview"),
    "exceptions.would_hide": _both(
        "在最近 {examined} 条候选告警中，将隐藏 {matched} 条",
        "Would hide {matched} of {examined} recent candidate alerts",
    ),
    "exceptions.save": _both("确认保存", "Save exception"),
    "exceptions.saved": _both("已保存例外 {id}", "Saved exception {id}"),
    "exceptions.list": _both("全部例外", "All exceptions"),
    "exceptions.empty": _both("暂无例外", "No exceptions"),
    "exceptions.state": _both("状态", "State"),
    "exceptions.active": _both("生效中", "Active"),
    "exceptions.expired": _both("已过期", "Expired"),
    "exceptions.scope": _both("范围", "Scope"),
    "exceptions.marked": _both("已标记告警", "Alerts marked"),
    "exceptions.revise": _both("修订", "Revise"),
    "exceptions.expire_now": _both("立即过期", "Expire now"),
    "exceptions.error.reason": _both("请填写原因", "Give a reason"),
    "exceptions.error.unit": _both(
        "只能为本单位范围内创建例外", "You may only scope exceptions to your own units"
    ),
    "exceptions.error.scope": _both(
        "范围无效：至少指定检测器、源、目的、单位或传感器之一，"
        "地址须为 IP 或网段，结束时间须晚于开始时间",
        "Invalid scope: name a detector, source, destination, unit or sensor; addresses must be"
        " IPs or networks; the end must follow the start",
    ),
    "exceptions.error.expires": _both(
        "有效期须在今天之后、一年之内", "The expiry must be after today and within a year"
    ),
    "exceptions.error.too_long": _both("输入过长", "A field is too long"),
    "report.title.daily": _both(
        "网络安全态势日报（{period}）", "Security posture daily report ({period})"
    ),
    "report.title.weekly": _both(
        "网络安全态势周报（{period}）", "Security posture weekly report ({period})"
    ),
    "report.back": _both("返回控制台", "Back to the console"),
    "report.previous": _both("上一期", "Previous"),
    "report.next": _both("下一期", "Next"),
    "report.print_hint": _both("可直接打印或另存为 PDF（A4）", "Print or save as PDF (A4)"),
    "report.period": _both("统计周期：{since} 至 {until}", "Period: {since} to {until}"),
    "report.generated": _both("生成于 {time}，生成人 {name}", "Generated {time} by {name}"),
    "report.summary": _both("总体态势", "Summary"),
    "report.incidents": _both("期间活跃事件", "Incidents active"),
    "report.new": _both("新增事件", "New incidents"),
    "report.trend": _both("风险走势（按小时）", "Risk by hour"),
    "report.notable": _both("重点事件", "Notable incidents"),
    "report.killchain": _both("攻击链", "Kill chain"),
    "report.new_list": _both("新增事件", "New incidents"),
    "report.resolved_list": _both("期间已处置事件", "Incidents resolved in the period"),
    "report.exceptions": _both("期间新增例外", "Exceptions added in the period"),
}
"""Exceptions and report UI strings by key, merged into ``i18n.MESSAGES``."""
