"""The metric records a trial writes through cloudml-hypertune."""

import json

import hypertune.hypertune

from trainer.reporting import HypertuneReporter


def test_a_metric_file_given_as_a_bare_name_is_written_in_the_current_directory(tmp_path, monkeypatch):
    """cloudml-hypertune alone fails on a name without a folder (``os.makedirs("")``)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", "output.metrics")
    reporter = HypertuneReporter(epochs=1)
    reporter.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.6, "val_accuracy": 0.75})
    records = [json.loads(line) for line in (tmp_path / "output.metrics").read_text().splitlines()]
    assert [(record["accuracy"], record["global_step"]) for record in records] == [("0.75", "1")]


def test_an_empty_metric_file_variable_means_the_default_path_as_when_unset(tmp_path, monkeypatch):
    """cloudml-hypertune alone fails on an empty value too (``os.makedirs("")``)."""
    default = tmp_path / "hypertune" / "output.metrics"
    # The library's default is /tmp/hypertune/output.metrics, shared by the machine: kept here instead.
    monkeypatch.setattr(hypertune.hypertune, "_DEFAULT_METRIC_PATH", str(default))
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", "")
    reporter = HypertuneReporter(epochs=1)
    reporter.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.6, "val_accuracy": 0.75})
    records = [json.loads(line) for line in default.read_text().splitlines()]
    assert [(record["accuracy"], record["global_step"]) for record in records] == [("0.75", "1")]
