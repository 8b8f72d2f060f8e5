"""Catalogue entries of the console pages: login, overview, units, big screen, actions."""

from __future__ import annotations

from collections.abc import Mapping


def _both(zh: str, en: str) -> Mapping[str, str]:
    return {"zh-CN": zh, "en": en}


CONSOLE_MESSAGES: Mapping[str, Mapping[str, str]] = {
    "nav.overview": _both("态势总览", "Overview"),
    "nav.units": _both("单位", "Units"),
    "nav.screen": _both("大屏", "Big screen"),
    "nav.logout": _both("退出登录", "Sign out"),
    "nav.user": _both("{name}（{role}）", "{name} ({role})"),
    "role.admin": _both("管理员", "Administrator"),
    "role.analyst": _both("分析员", "Analyst"),
    "role.viewer": _both("单位用户", "Unit viewer"),
    "role.leadership": _both("领导", "Leadership"),
    "login.title": _both("登录", "Sign in"),
    "login.name": _both("用户名", "User name"),
    "login.password": _both("密码", "Password"),
    "login.submit": _both("登录", "Sign in"),
    "login.failed": _both("用户名或密码错误", "Wrong user name or password"),
    "login.throttled": _both(
        "登录失败次数过多，请 5 分钟后再试", "Too many failed logins: try again in 5 minutes"
    ),
    "overview.heading": _both("态势总览", "Security posture overview"),
    "overview.score": _both("态势风险分", "Posture risk score"),
    "overview.trend": _both("24 小时走势", "24-hour trend"),
    "overview.open": _both("未关闭事件", "Open incidents"),
    "overview.ranking": _both("单位风险排名", "Units by risk"),
    "overview.by_severity": _both("按严重程度", "By severity"),
    "overview.by_stage": _both("按攻击阶段", "By kill-chain stage"),
    "overview.sources": _both("主要外部攻击源", "Top external sources"),
    "overview.targets": _both("主要受攻击资产", "Top targeted assets"),
    "overview.basis": _both(
        "基于可见的全部 {count} 个事件计算", "Computed from all {count} incidents you may see"
    ),
    "overview.hour": _both(
        "{time} 风险 {risk}，事件 {count} 个", "{time}: risk {risk}, {count} incidents"
    ),
    "col.unit": _both("单位", "Unit"),
    "col.peak": _both("最高风险", "Peak risk"),
    "col.open": _both("未关闭事件", "Open incidents"),
    "col.trend": _both("趋势", "Trend"),
    "col.count": _both("事件数", "Incidents"),
    "col.address": _both("地址", "Address"),
    "direction.worse": _both("↑ 恶化", "↑ worse"),
    "direction.better": _both("↓ 好转", "↓ better"),
    "direction.flat": _both("→ 平稳", "→ steady"),
    "stage.reconnaissance": _both("侦察", "Reconnaissance"),
    "stage.credential_access": _both("凭据访问", "Credential access"),
    "stage.initial_access": _both("初始访问（疑似失陷）", "Initial access (likely compromise)"),
    "stage.command_and_control": _both("命令与控制", "Command and control"),
    "stage.exfiltration": _both("数据渗出", "Exfiltration"),
    "stage.none": _both("单阶段", "Single stage"),
    "units.heading": _both("单位态势", "Units"),
    "units.worst": _both("主要未关闭事件", "Worst open incidents"),
    "screen.title": _both("网络安全态势大屏", "Security posture wall"),
    "screen.updated": _both("数据截至 {time}", "Data up to {time}"),
    "detail.assignee": _both("处置人", "Assignee"),
    "detail.unassigned": _both("未分派", "Unassigned"),
    "detail.history": _both("处置记录", "History"),
    "detail.no_history": _both("暂无处置记录", "No actions yet"),
    "detail.actions": _both("处置操作", "Actions"),
    "history.when": _both("时间", "When"),
    "history.who": _both("操作人", "Who"),
    "history.change": _both("状态", "Status"),
    "history.note": _both("说明", "Note"),
    "action.assign": _both("分派", "Assign"),
    "action.status": _both("变更状态", "Change status"),
    "action.note": _both("添加备注", "Add note"),
    "action.note_label": _both("备注", "Note"),
    "forbidden.title": _both("拒绝访问", "Forbidden"),
    "forbidden.body": _both(
        "此操作未获允许，或表单已过期：请刷新页面后重试。",
        "This action is not allowed, or the form expired: reload the page and try again.",
    ),
    "action.no_moves": _both("当前状态不可变更", "No status change is allowed from here"),
}
"""Console UI strings by key, merged into ``i18n.MESSAGES``."""
