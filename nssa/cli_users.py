"""``nssa user add|list|disable|enable|passwd|hash``: dashboard accounts kept in the store.

Every change is saved with an audit record naming the operating-system user who made it.
Passwords never appear on the command line: a terminal is prompted (twice), otherwise one
line is read from stdin, so scripts can pipe it in.
"""

from __future__ import annotations

import getpass
import json
import sys
import time
from pathlib import Path

import click

from correlator.accounts import (
    Account,
    Role,
    account_audit,
    unknown_units,
    with_disabled,
    with_password,
)
from correlator.exceptions import AuditAction
from correlator.storage import Store
from dashboard.users import hash_password
from nssa.cli import _opened, config_option, json_option, store_option
from nssa.settings import load_settings
from sensors.ecs import format_time


@click.group("user")
def user_group() -> None:
    """Dashboard accounts, kept in the store (settings-file users still sign in too)."""


def _operator() -> str:
    """Who is running the command, for the audit trail."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name and no password-database entry (containers)
        return "cli:unknown"


def _read_password(name: str = "") -> str:
    """A new password (prompted twice on a terminal, else one stdin line), hashed."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        return hash_password(password, name)
    except ValueError as exc:
        raise click.ClickException(f"weak password: {str(exc).partition(': ')[2]}") from exc


def _existing(store: Store, name: str) -> Account:
    account = store.user(name)
    if account is None:
        raise click.ClickException(f"no user {name!r} in the store (see `nssa user list`)")
    return account


@user_group.command("add")
@click.argument("name")
@click.option(
    "--role", required=True, type=click.Choice([r.value for r in Role]), help="What it may do."
)
@click.option(
    "--unit", "units", multiple=True, help="Unit code the user is limited to (repeatable)."
)
@config_option
@store_option
def user_add_command(
    name: str, role: str, units: tuple[str, ...], config_path: Path | None, store_url: str | None
) -> None:
    """Create the dashboard account NAME; the password comes from a prompt or stdin."""
    settings = load_settings(config_path)
    unknown = unknown_units(units, settings.organisation)
    if unknown:
        raise click.BadParameter(f"no unit has code {', '.join(unknown)}", param_hint="--unit")
    if Role(role) is Role.VIEWER and not units:
        raise click.BadParameter(
            "a viewer must be limited to at least one unit", param_hint="--unit"
        )
    with _opened(settings, store_url) as store:
        if store.user(name) is not None:
            raise click.ClickException(
                f"user {name!r} exists: use `nssa user passwd` or `nssa user enable`"
            )
        password_hash = _read_password(name)
        now = time.time()
        try:
            account = Account(
                name=name,
                password_hash=password_hash,
                role=Role(role),
                units=tuple(dict.fromkeys(units)),
                created=now,
                updated=now,
            )
        except ValueError as exc:
            raise click.ClickException(str(exc).partition(": ")[2]) from exc
        store.put_user(
            account, account_audit(account, AuditAction.USER_ADDED, who=_operator(), at=now)
        )
    if any(u.name == name for u in settings.dashboard.users):
        click.echo(f"note: the store's {name!r} replaces the settings file's user of that name")
    click.echo(f"added {name} ({role})")


@user_group.command("list")
@config_option
@store_option
@json_option
def user_list_command(config_path: Path | None, store_url: str | None, as_json: bool) -> None:
    """List the store's accounts (never their hashes)."""
    settings = load_settings(config_path)
    with _opened(settings, store_url) as store:
        accounts = store.users()
    for account in accounts:
        row = {
            "name": account.name,
            "role": account.role.value,
            "units": list(account.units),
            "disabled": account.disabled,
            "created": format_time(account.created),
            "updated": format_time(account.updated),
        }
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            state = "disabled" if account.disabled else "enabled"
            units = ",".join(account.units) or "-"
            click.echo(f"{account.name}  {account.role.value}  units={units}  {state}")


def _set_disabled(name: str, disabled: bool, config_path: Path | None, url: str | None) -> None:
    settings = load_settings(config_path)
    word = "disabled" if disabled else "enabled"
    with _opened(settings, url) as store:
        account = _existing(store, name)
        if account.disabled == disabled:
            click.echo(f"{name} is already {word}")
            return
        now = time.time()
        changed = with_disabled(account, disabled, at=now)
        action = AuditAction.USER_DISABLED if disabled else AuditAction.USER_ENABLED
        store.put_user(changed, account_audit(changed, action, who=_operator(), at=now))
    click.echo(f"{word} {name}")


@user_group.command("disable")
@click.argument("name")
@config_option
@store_option
def user_disable_command(name: str, config_path: Path | None, store_url: str | None) -> None:
    """Stop NAME signing in (its open sessions end at their next request)."""
    _set_disabled(name, True, config_path, store_url)


@user_group.command("enable")
@click.argument("name")
@config_option
@store_option
def user_enable_command(name: str, config_path: Path | None, store_url: str | None) -> None:
    """Let a disabled NAME sign in again."""
    _set_disabled(name, False, config_path, store_url)


@user_group.command("passwd")
@click.argument("name")
@config_option
@store_option
def user_passwd_command(name: str, config_path: Path | None, store_url: str | None) -> None:
    """Set NAME's password; it comes from a prompt or stdin."""
    settings = load_settings(config_path)
    with _opened(settings, store_url) as store:
        account = _existing(store, name)
        now = time.time()
        changed = with_password(account, _read_password(name), at=now)
        audit = account_audit(changed, AuditAction.USER_PASSWORD, who=_operator(), at=now)
        store.put_user(changed, audit)
    click.echo(f"password of {name} changed")


@user_group.command("hash")
def user_hash_command() -> None:
    """Print a password hash for ``password_hash``; the password comes from a prompt or stdin."""
    click.echo(_read_password())
