"""``skiff model push`` / ``skiff model pull`` against a live hub over HTTP."""

from __future__ import annotations

from click.testing import CliRunner

from hub.cli import main

from .conftest import write_module, write_program


def test_push_then_pull_round_trip(live_server, make_user, make_token, tmp_path, monkeypatch,
                                   accuracy):
    token = make_token(make_user(username="ada"))
    monkeypatch.setenv("SKIFF_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SKIFF_TOKEN", token)
    runner = CliRunner()
    folder = write_program(tmp_path / "model", accuracy=accuracy)
    (folder / "train.py").write_text("print('training')\n")
    pushed = runner.invoke(main, ["--endpoint", live_server.url, "model", "push", str(folder),
                                  "--repo", "ada/digits", "-m", "first", "--tag", "v1.0"])
    assert pushed.exit_code == 0, pushed.output
    assert "Published ada/digits version 1 (4 files); validation: passed." in pushed.output

    module = write_module(tmp_path / "module")
    second = runner.invoke(main, ["--endpoint", live_server.url, "model", "push", str(module),
                                  "--repo", "ada/digits", "-m", "as a module"])
    assert second.exit_code == 0 and "version 2" in second.output

    out = tmp_path / "pulled"
    pulled = runner.invoke(main, ["--endpoint", live_server.url, "model", "pull",
                                  "ada/digits@v1.0", str(out)])
    assert pulled.exit_code == 0, pulled.output
    for name in ("README.md", "graph.json", "weights.safetensors", "train.py"):
        assert (out / name).read_bytes() == (folder / name).read_bytes()
    latest = runner.invoke(main, ["--endpoint", live_server.url, "model", "pull", "ada/digits",
                                  str(tmp_path / "latest")])
    assert latest.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "latest").iterdir()) == [
        "README.md", "model.py", "model.safetensors"]

    import framework as fw

    program = fw.jit.load(str(out))
    assert program(fw.randn(3, 64)).shape == (3, 10)

    missing = runner.invoke(main, ["--endpoint", live_server.url, "model", "pull",
                                   "ada/digits@9", str(tmp_path / "none")])
    assert missing.exit_code != 0 and "has no version '9'" in missing.output
    refused = tmp_path / "bad"
    write_program(refused)
    (refused / "weights.pt").write_bytes(b"\x80\x02}q\x00.")
    failed = runner.invoke(main, ["--endpoint", live_server.url, "model", "push", str(refused),
                                  "--repo", "ada/digits", "-m", "pickle"])
    assert failed.exit_code != 0 and "pickle" in failed.output
