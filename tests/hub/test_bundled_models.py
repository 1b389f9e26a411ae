"""The zoo's seed step publishes the models bundled in ``contrib/models`` as ``skiff/*``."""

from __future__ import annotations

import shutil

from hub.zoo import bundled


def test_seed_publishes_every_bundled_model_once(app):
    from hub import db
    from hub.zoo import seed, services
    from hub.zoo.models import ModelVersion

    folders = bundled.bundled_folders()
    assert len(folders) >= 5
    with app.app_context():
        published = seed(app)
        assert published == [f"skiff/{bundled.repo_name(f)}@1" for f in folders]
        for folder in folders:
            model = services.find_model("skiff", bundled.repo_name(folder))
            assert model.is_public and model.validation_status == "queued"
            latest = services.latest_version(model)
            assert latest.architecture == "program" and latest.program_dir == "program"
            assert {f.path for f in latest.files} >= {"README.md", "train.py", "model.py",
                                                      "model.safetensors", "program/graph.json"}
        # Every later start finds the same files and publishes nothing.
        assert seed(app) == published
        assert db.session().query(ModelVersion).count() == len(folders)


def test_a_retrained_folder_becomes_the_next_version(app, tmp_path):
    from hub.zoo import services

    root = tmp_path / "models"
    shutil.copytree(bundled.BUNDLED_MODELS / "digits_mlp", root / "digits_mlp",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / "not_a_model").mkdir()
    with app.app_context():
        assert bundled.publish_bundled(root) == ["skiff/digits-mlp@1"]
        (root / "digits_mlp" / "metrics.json").write_text('{"test": {"accuracy": 0.97}}\n')
        assert bundled.publish_bundled(root) == ["skiff/digits-mlp@2"]
        # A folder the hub refuses is skipped, and the others still publish.
        (root / "digits_mlp" / "notes.pkl").write_bytes(b"\x80\x04K\x01.")
        assert bundled.publish_bundled(root) == []
        assert services.latest_version(services.find_model("skiff", "digits-mlp")).number == 2
