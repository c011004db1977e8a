"""One table of settings: the code reads no undeclared key, docs/configuration.md is current, values parse."""
import os
import re

import pytest

from hub import create_app as create_hub
from menwei import config
from menwei.store.maintenance import offline_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: How code reads a setting: app.config["KEY"], config.get("KEY"), cfg["KEY"], MENWEI_KEY in the environment.
READS = re.compile(r"""(?:config|cfg)(?:\[|\.get\(|\.setdefault\()\s*["']([A-Z][A-Z0-9_]+)["']|["']MENWEI_([A-Z][A-Z0-9_]+)["']""")
READ_BY_FLASK = {"SESSION_COOKIE_SECURE"}  # a setting Flask itself reads


def _keys_read():
    found = {}
    for package in ("menwei", "hub", "node", "sync"):
        for folder, _dirs, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    with open(path, encoding="utf-8") as f:
                        for m in READS.finditer(f.read()):
                            found.setdefault(m.group(1) or m.group(2), os.path.relpath(path, ROOT))
    return found


def test_every_key_the_code_reads_is_declared_and_every_setting_is_read():
    read = _keys_read()
    assert {"SYNC_INTERVAL_S", "MAX_BATCH", "PROXY_COUNT", "AUTO_UPGRADE", "DATA_DIR"} <= set(read)  # the scan works
    undeclared = {k: where for k, where in read.items() if k not in config.BY_KEY and k not in config.DERIVED}
    assert not undeclared, f"declare these in menwei/config.py SETTINGS (or DERIVED): {undeclared}"
    unused = set(config.BY_KEY) - set(read) - READ_BY_FLASK
    assert not unused, f"settings nothing reads: {unused}"


def test_the_configuration_page_shows_the_current_table():
    with open(config.DOC_PATH, encoding="utf-8") as f:
        page = f.read()
    assert config.BEGIN in page and config.END in page
    assert config.render_doc(page) == page, "docs/configuration.md is stale: run `python -m menwei.config`"
    for s in config.SETTINGS:
        assert f"| {s.key} | MENWEI_{s.key} |" in page


def test_environment_values_take_the_type_of_their_setting(tmp_path, monkeypatch):
    (tmp_path / "menwei.cfg").write_text("SYNC_INTERVAL_S = 9.0\nHUB_ID = 'from-file'\n")
    monkeypatch.setenv("MENWEI_SYNC_INTERVAL_S", "2.5")
    monkeypatch.setenv("MENWEI_AUTO_UPGRADE", "off")
    monkeypatch.setenv("MENWEI_PROXY_COUNT", "1")
    cfg = offline_config("node", str(tmp_path))
    assert (cfg["SYNC_INTERVAL_S"], cfg["AUTO_UPGRADE"], cfg["PROXY_COUNT"], cfg["HUB_ID"]) == (2.5, False, 1, "from-file")
    monkeypatch.setenv("MENWEI_AUTO_UPGRADE", "perhaps")
    with pytest.raises(ValueError, match="MENWEI_AUTO_UPGRADE"):
        offline_config("node", str(tmp_path))
    monkeypatch.setenv("MENWEI_AUTO_UPGRADE", "1")
    monkeypatch.setenv("MENWEI_MAX_BATCH", "lots")
    with pytest.raises(ValueError, match="MENWEI_MAX_BATCH.*int"):
        offline_config("node", str(tmp_path))


@pytest.mark.parametrize("proxies, counted", [(0, "addr:127.0.0.1"), (1, "addr:203.0.113.9")])
def test_behind_a_proxy_sign_in_limits_count_the_real_client(tmp_path, proxies, counted):
    app = create_hub({"DATABASE_URL": f"sqlite:///{tmp_path}/hub.db", "PROXY_COUNT": proxies},
                     instance_path=str(tmp_path / "hub"))
    r = app.test_client().post("/api/v1/auth/login", json={"username": "nobody", "password": "wrong-password"},
                               headers={"X-Forwarded-For": "203.0.113.9"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert r.status_code == 401
    with app.extensions["menwei"].store.read() as tx:
        assert [k for (k,) in tx.rows("SELECT key FROM login_failures WHERE key LIKE 'addr:%'")] == [counted]
