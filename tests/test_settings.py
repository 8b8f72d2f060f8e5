"""Settings: the example city loads; every mistake names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from correlator.organisation import UnitKind
from nssa.errors import ConfigError
from nssa.settings import load_settings

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sanmenxia.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "nssa.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_city_loads_with_units_sensors_and_thresholds() -> None:
    settings = load_settings(EXAMPLE)
    org = settings.organisation
    names = {u.name for u in org.units}
    assert {"湖滨区", "陕州区", "义马市", "灵宝市", "渑池县", "卢氏县"} <= names
    assert {"城乡一体化示范区", "经济开发区", "市政务云", "市公安局", "市民政局"} <= names
    assert sum(u.kind is UnitKind.DEPARTMENT for u in org.units) >= 12
    assert org.locate("10.10.2.77") == org.by_code["police"]
    assert org.locate("10.21.3.25") == org.by_code["hubin"]
    assert [link.name for link in settings.sensors] == ["cloud-core", "extranet-border"]
    assert settings.detector_config("portscan").vertical_ports == 15


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        (
            "[detectors.portscan]\nvertical_portz = 3\n",
            "detectors.portscan.vertical_portz",
            "unknown key",
        ),
        ("[detectors.portscna]\n", "detectors.portscna", "unknown key"),
        ("[stor]\nurl = 'x'\n", "stor", "unknown key"),
        (
            "[detectors.portscan]\nvertical_ports = 'many'\n",
            "detectors.portscan.vertical_ports",
            "expected int",
        ),
        (
            "[detectors.portscan]\nvertical_ports = 1\n",
            "detectors.portscan.vertical_ports",
            "out of range",
        ),
        (
            "[detectors.portscan]\nwindow_seconds = true\n",
            "detectors.portscan.window_seconds",
            "expected float",
        ),
        (
            "[[units]]\ncode='x'\nname='县'\nkind='county'\nsubnets=['10.0.0.0/33']\n",
            "units[0].subnets",
            "not a network",
        ),
        ("[[units]]\ncode='x'\nname='县'\nkind='shire'\n", "units[0].kind", "not one of"),
        (
            "[[units]]\ncode='x'\nname='县'\nkind='county'\nparent='nowhere'\n",
            "units[0].parent",
            "no unit has code",
        ),
        ("[[units]]\nname='县'\nkind='county'\n", "units[0].code", "is required"),
        (
            "[[sensors]]\nname='s'\ninterface='eth0'\nunits=['ghost']\n",
            "sensors[0].units",
            "no unit has code",
        ),
        ("[flows]\ntcp_idle = -1\n", "flows.tcp_idle", "positive"),
        ("[[sensors]]\nname='s'\ninterface='e'\nworkers=65\n", "sensors[0].workers", "0 and 64"),
        (
            "[[sensors]]\nname='s'\ninterface='e'\nblock_size=70000\n",
            "sensors[0].block_size",
            "power",
        ),
        (
            "[[sensors]]\nname='s'\ninterface='e'\nblock_size=268435456\nblock_count=32\n",
            "sensors[0].block_count",
            "at most 4 GiB",
        ),
        (
            "[[sensors]]\nname='s'\ninterface='e'\nblock_timeout_ms=0\n",
            "sensors[0].block_timeout_ms",
            "1 and",
        ),
        (
            "[[sensors]]\nname='s'\ninterface='e'\nwrite_queue=10\n",
            "sensors[0].write_queue",
            "1000 and",
        ),
        (
            "[[sensors]]\nname='s'\ninterface='e'\nbatch_packets=0\n",
            "sensors[0].batch_packets",
            "1 and",
        ),
    ],
)
def test_mistakes_name_file_and_key(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.file == str(path)
    assert caught.value.key == key
    assert problem in caught.value.problem
    assert str(path) in str(caught.value) and key in str(caught.value)


def test_broken_toml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[city\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "absent.toml")


def test_chinese_names_survive(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[city]\ncode='smx'\nname='三门峡市'\n[[units]]\ncode='a'\nname='卢氏县'\nkind='county'\nparent='smx'\n",
    )
    assert load_settings(path).organisation.by_code["a"].name == "卢氏县"
