"""Word lists of the web rules (``detectors.webrules``): regex alternations, our own lists."""

from __future__ import annotations

CMDS = r"(?:cat|ls|id|whoami|uname|wget|curl|nc|ncat|bash|sh|ping|nslookup|powershell|cmd|echo)"
"""Shell commands an injection probe runs first."""
DOTFILES = (
    r"htpasswd|htaccess|env|git|svn|hg|bzr|cvs|ssh|aws|docker|bash_history|sh_history|"
    r"mysql_history|psql_history|bashrc|bash_profile|profile|zshrc|rhosts|passwd|pwd|netrc|"
    r"npmrc|pgpass|ds_store|listing|listings|cache|config|idea|vscode|wp-config"
)
"""Hidden files and folders a web server never serves (CRS restricted-files semantics)."""
SQL_FUNCTIONS = (
    r"substr|substring|mid|chr|char|ascii|unhex|concat_ws|group_concat|distinct|"
    r"load_file|benchmark|sleep|pg_sleep|extractvalue|updatexml|name_const|xp_cmdshell|"
    r"utl_inaddr\.get_host_address|dbms_pipe\.receive_message|sys_context|make_set|elt"
)
"""Function names that only SQL dialects use (CRS 942151 semantics, our own list)."""
SQL_FUNCTIONS_BROAD = r"version|database|schema|user|current_user|concat|cast|convert|count|if"
"""SQL function names that ordinary parameters also contain: paranoia level 2."""
DANGEROUS_TAGS = (
    r"iframe|frame|frameset|object|embed|applet|svg|math|meta|base|body|form|"
    r"style|link|img|image|video|audio|marquee|isindex|param|animate|set|bindings"
)
"""Tags that run script or load content (CRS 941160 semantics, our own list; ``script`` has
its own rule)."""
