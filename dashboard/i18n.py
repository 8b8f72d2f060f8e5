"""Language choice and the UI message catalogue: Chinese first, English on request.

The language comes from ``?lang=`` (which also sets a cookie), then the cookie, then the
default, zh-CN. Templates translate with ``_('key')``. The catalogue is a dict for now; a later
issue moves it to Flask-Babel message files.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from flask import Flask, Response, current_app, g, request, url_for

from correlator.aggregation import IncidentHeadline
from correlator.campaign import PREFIX as CAMPAIGN_PREFIX
from correlator.exceptions import ExceptionKind
from correlator.incident import Incident, IncidentStatus
from correlator.organisation import OrganisationMap
from correlator.posture import Direction
from dashboard.console_messages import CONSOLE_MESSAGES
from dashboard.explorer_messages import EXPLORER_MESSAGES
from dashboard.live_messages import LIVE_MESSAGES
from dashboard.report_messages import REPORT_MESSAGES
from dashboard.users import Role
from detectors.alert import Severity
from detectors.attack import Tactic
from sensors.ecs import format_time

LANGUAGES = ("zh-CN", "en")
"""Languages the dashboard speaks, the default first."""

DEFAULT_LANGUAGE = LANGUAGES[0]
"""Language used when neither ``?lang=`` nor the cookie chooses one."""

COOKIE = "nssa_lang"
"""Cookie remembering the language chosen with ``?lang=``."""

LANGUAGE_NAMES: Mapping[str, str] = {"zh-CN": "中文", "en": "English"}
"""Each language's name in that language, for the switch (so nobody is stranded)."""

TIMEZONE = ZoneInfo("Asia/Shanghai")
"""Times are shown in China Standard Time, as the city's staff read them."""

_TACTICS_ZH: Mapping[Tactic, str] = {
    Tactic.RECONNAISSANCE: "侦察",
    Tactic.RESOURCE_DEVELOPMENT: "资源开发",
    Tactic.INITIAL_ACCESS: "初始访问",
    Tactic.EXECUTION: "执行",
    Tactic.PERSISTENCE: "持久化",
    Tactic.PRIVILEGE_ESCALATION: "权限提升",
    Tactic.DEFENSE_EVASION: "防御规避",
    Tactic.CREDENTIAL_ACCESS: "凭据访问",
    Tactic.DISCOVERY: "发现",
    Tactic.LATERAL_MOVEMENT: "横向移动",
    Tactic.COLLECTION: "收集",
    Tactic.COMMAND_AND_CONTROL: "命令与控制",
    Tactic.EXFILTRATION: "数据渗出",
    Tactic.IMPACT: "影响",
}


def _both(zh: str, en: str) -> Mapping[str, str]:
    return {"zh-CN": zh, "en": en}


MESSAGES: Mapping[str, Mapping[str, str]] = {
    "app.title": _both("网络安全态势感知", "Network Security Situational Awareness"),
    "nav.incidents": _both("安全事件", "Incidents"),
    "lang.label": _both("语言", "Language"),
    "footer.timezone": _both("时间均为北京时间（UTC+8）", "Times are China Standard Time (UTC+8)"),
    "incidents.heading": _both("安全事件", "Security incidents"),
    "incidents.empty": _both("暂无安全事件", "No incidents"),
    "col.title": _both("标题", "Title"),
    "col.status": _both("状态", "Status"),
    "col.risk_score": _both("风险分", "Risk score"),
    "col.attackers": _both("攻击源", "Attackers"),
    "col.victims": _both("受害主机", "Victims"),
    "col.units": _both("涉及单位", "Units"),
    "col.tactics": _both("攻击战术", "Tactics"),
    "col.first_seen": _both("首次发现", "First seen"),
    "col.last_seen": _both("最近发现", "Last seen"),
    "col.alert_count": _both("告警数", "Alerts"),
    "list.more": _both("另 {count} 项", "+{count} more"),
    "title.sources": _both("{count} 个攻击源", "{count} sources"),
    "value.none": _both("无", "none"),
    "paging.label": _both("分页", "Pages"),
    "paging.previous": _both("上一页", "Previous"),
    "paging.next": _both("下一页", "Next"),
    "paging.page": _both("第 {page} 页", "Page {page}"),
    "detail.back": _both("返回事件列表", "Back to incidents"),
    "detail.overview": _both("事件概况", "Overview"),
    "detail.id": _both("事件编号", "Incident id"),
    "detail.kind": _both("事件类型", "Kind"),
    "detail.severity": _both("严重程度", "Severity"),
    "detail.techniques": _both("攻击技术", "Techniques"),
    "detail.detectors": _both("检测器", "Detectors"),
    "detail.risk_factors": _both("风险因素", "Risk factors"),
    "detail.factor": _both("因素", "Factor"),
    "detail.value": _both("取值", "Value"),
    "detail.alerts": _both("关联告警", "Alerts"),
    "detail.alerts_shown": _both(
        "共 {total} 条告警，显示 {shown} 条", "Showing {shown} of {total} alerts"
    ),
    "detail.no_alerts": _both("未找到关联告警", "No alerts found for this incident"),
    "alert.time": _both("时间", "Time"),
    "alert.rule": _both("规则", "Rule"),
    "alert.detector": _both("检测器", "Detector"),
    "alert.severity": _both("严重程度", "Severity"),
    "alert.source": _both("源地址", "Source"),
    "alert.destinations": _both("目的地址", "Destinations"),
    "alert.tactic": _both("战术 / 技术", "Tactic / technique"),
    "alert.explanation": _both("告警说明", "Explanation"),
    "alert.facts": _both("判定依据", "Facts"),
    "not_found.title": _both("未找到", "Not found"),
    "not_found.body": _both(
        "请求的页面或安全事件不存在。", "The page or incident you asked for does not exist."
    ),
    "status.new": _both("新发现", "New"),
    "status.investigating": _both("调查中", "Investigating"),
    "status.contained": _both("已遏制", "Contained"),
    "status.resolved": _both("已处置", "Resolved"),
    "status.false_positive": _both("误报", "False positive"),
    "severity.low": _both("低危", "Low"),
    "severity.medium": _both("中危", "Medium"),
    "severity.high": _both("高危", "High"),
    "severity.critical": _both("严重", "Critical"),
    **{f"tactic.{tactic}": _both(_TACTICS_ZH[tactic], tactic.label) for tactic in Tactic},
    "kind.portscan.vertical": _both("端口扫描", "Port scan"),
    "kind.portscan.horizontal": _both("地址扫描", "Address sweep"),
    "family.portscan": _both("扫描探测", "Scanning"),
    "family.scan": _both("扫描探测", "Scanning"),
    "family.bruteforce": _both("暴力破解", "Brute force"),
    "family.flood": _both("拒绝服务攻击", "Denial of service"),
    "family.amplification": _both("反射放大攻击", "Reflection amplification"),
    "family.ids": _both("入侵检测告警", "IDS alert"),
    "family.webattack": _both("网站攻击", "Web attack"),
    "family.dnstunnel": _both("DNS隧道", "DNS tunnelling"),
    "family.dga": _both("域名生成算法(DGA)", "Domain generation algorithm (DGA)"),
    "family.beacon": _both("周期性外联(心跳)", "Periodic beaconing"),
    "kind.killchain.recon_then_guessing": _both(
        "扫描后暴力破解", "Scan followed by password guessing"
    ),
    "kind.killchain.recon_then_access": _both(
        "扫描后入侵成功", "Scan followed by a successful intrusion"
    ),
    "kind.killchain.guessing_then_login": _both(
        "疑似失陷（暴力破解后登录成功）", "Likely compromise (password guessing, then a login)"
    ),
    "kind.killchain.access_then_c2": _both(
        "失陷主机外联控制端", "Compromised host calls its controller"
    ),
    "kind.killchain.c2_then_exfiltration": _both(
        "远控后数据外传", "Command and control then data leaving"
    ),
    **CONSOLE_MESSAGES,
    **EXPLORER_MESSAGES,
    **REPORT_MESSAGES,
    **LIVE_MESSAGES,
}
"""Every UI string by key, in every language of ``LANGUAGES``."""

_LABEL_PREFIXES: Mapping[type[StrEnum], str] = {
    IncidentStatus: "status",
    Severity: "severity",
    Tactic: "tactic",
    Direction: "direction",
    Role: "role",
    ExceptionKind: "exception_kind",
}


def init_app(app: Flask) -> None:
    """Choose the language per request and give templates ``_`` and the display filters."""
    app.before_request(_choose_language)
    app.after_request(_remember_language)
    app.jinja_env.globals.update(
        _=gettext,
        current_language=current_language,
        language_url=language_url,
        languages=LANGUAGES,
        language_names=LANGUAGE_NAMES,
    )
    app.jinja_env.filters.update(
        label=label,
        unit_name=unit_name,
        local_time=local_time,
        iso_time=format_time,
        incident_title=incident_title,
    )


def current_language() -> str:
    """The language of the current request."""
    return str(g.get("nssa_lang", DEFAULT_LANGUAGE))


def gettext(key: str, **values: object) -> str:
    """The message ``key`` in the current language, with ``{name}`` fields filled in."""
    text = MESSAGES.get(key, {}).get(current_language(), key)
    return text.format(**values) if values else text


def label(value: StrEnum) -> str:
    """The translated name of a status, severity or tactic."""
    return gettext(f"{_LABEL_PREFIXES[type(value)]}.{value}")


def unit_name(code: str) -> str:
    """A unit's name in the current language when the organisation map knows it, else its code."""
    organisation: OrganisationMap = current_app.extensions["nssa.organisation"]
    unit = organisation.by_code.get(code)
    if unit is None:
        return code
    return (unit.name_en or unit.name) if current_language() == "en" else unit.name


def incident_title(incident: Incident | IncidentHeadline) -> str:
    """An incident's title in the current language: what happened, from whom, to whom.

    Stored titles are English; known kinds are rendered from the catalogue instead, and an
    unknown kind keeps its stored title.
    """
    family = incident.kind.split(".", 1)[0]
    for key in (f"kind.{incident.kind}", f"family.{family}"):
        if key in MESSAGES:
            what = gettext(key)
            break
    else:
        return incident.title
    separator = "：" if current_language() == "zh-CN" else ": "
    if not incident.attackers:  # host findings (tunnels, beacons) name the host itself
        return f"{what}{separator}{', '.join(incident.victims[:2])}"
    source = incident.attackers[0]
    if incident.entity.startswith(CAMPAIGN_PREFIX):  # many sources, one rule: count them
        source = gettext("title.sources", count=len(incident.attackers))
    target = f" → {incident.victims[0]}" if len(incident.victims) == 1 else ""
    more = f" (+{len(incident.victims) - 1})" if len(incident.victims) > 1 else ""
    return f"{what}{separator}{source}{target}{more}"


def local_time(epoch: float) -> str:
    """Epoch seconds as a Beijing-time timestamp, to the second."""
    return datetime.fromtimestamp(epoch, TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")


def language_url(code: str) -> str:
    """The current page's URL in language ``code`` (the incident list when there is no page)."""
    if request.endpoint is None or request.method != "GET":
        return url_for("overview.index", lang=code)
    values = {**request.args.to_dict(), **(request.view_args or {}), "lang": code}
    return url_for(request.endpoint, **values)


def _choose_language() -> None:
    requested = request.args.get("lang")
    remembered = request.cookies.get(COOKIE)
    for candidate in (requested, remembered):
        if candidate in LANGUAGES:
            g.nssa_lang = candidate
            return
    g.nssa_lang = DEFAULT_LANGUAGE


def _remember_language(response: Response) -> Response:
    requested = request.args.get("lang")
    if requested in LANGUAGES:
        response.set_cookie(
            COOKIE,
            requested,
            max_age=365 * 24 * 3600,
            secure=request.is_secure,
            httponly=True,
            samesite="Lax",
        )
    return response
