"""Flag parsing: both flag forms, the float form Vertex AI sends, and clear rejections."""

import argparse

import pytest

from trainer.flags import DEFAULT_MODEL_DIR, integral, parse_args

HYPERPARAMETERS = {
    "learning-rate": "0.003",
    "num-units": "256",
    "dropout-rate": "0.25",
    "batch-size": "32",
    "epochs": "3",
}


def test_equals_form_as_vertex_ai_sends_it():
    args = parse_args([f"--{name}={value}" for name, value in HYPERPARAMETERS.items()], {})
    assert (args.learning_rate, args.num_units, args.dropout_rate) == (0.003, 256, 0.25)
    assert (args.batch_size, args.epochs) == (32, 3)


def test_space_form_gives_the_same_values():
    argv = [part for name, value in HYPERPARAMETERS.items() for part in (f"--{name}", value)]
    assert parse_args(argv, {}) == parse_args(
        [f"--{name}={value}" for name, value in HYPERPARAMETERS.items()], {}
    )


@pytest.mark.parametrize("text", ["256.0", "256", "2.56e2"])
def test_integer_flags_accept_integral_floats(text):
    args = parse_args([f"--num-units={text}", f"--batch-size={text}", f"--epochs={text}"], {})
    assert (args.num_units, args.batch_size, args.epochs) == (256, 256, 256)
    assert isinstance(args.num_units, int)


def test_non_integral_float_is_rejected_with_a_one_line_message(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--num-units=256.5"], {})
    assert exit_info.value.code == 2
    message = capsys.readouterr().err
    assert message.count("\n") == 1
    assert "--num-units" in message and "'256.5'" in message and "non-integral" in message


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--learning-rate=0"], "--learning-rate"),
        (["--learning-rate=inf"], "expected a finite number > 0, got 'inf'"),
        (["--seed=-1"], "expected an integer from 0 to 4294967295, got '-1'"),
        (["--seed=4294967296"], "--seed"),
        (["--dropout-rate=1"], "--dropout-rate"),
        (["--batch-size=0"], "--batch-size"),
        (["--epochs=two"], "--epochs"),
        (["--num-unit=64"], "unrecognized arguments: --num-unit=64"),  # no prefix matching
        (["--dataset=cifar"], "unknown dataset 'cifar'; use one of: fashion_mnist, digits"),
        # An args template whose variable expanded to nothing would save the model under "/".
        (["--model-dir="], "argument --model-dir: empty"),
        (["--model-dir", " "], "argument --model-dir: empty"),
        (["--save-epoch=final"], "argument --save-epoch: invalid choice: 'final'"),
    ],
)
def test_bad_values_fail_naming_the_flag(capsys, argv, fragment):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv, {})
    assert exit_info.value.code == 2
    assert fragment in capsys.readouterr().err


@pytest.mark.parametrize("text", ["1e400", "inf", "nan"])
def test_an_infinite_or_nan_integer_is_not_called_non_integral(text):
    # float("1e400") is inf: no parameter declaration would make it an acceptable integer.
    with pytest.raises(argparse.ArgumentTypeError) as error:
        integral(text)
    assert str(error.value) == f"expected an integer, got {text!r}"


def test_integral_rejects_text():
    with pytest.raises(argparse.ArgumentTypeError, match="expected an integer"):
        integral("many")


def test_defaults_follow_the_seed_tutorial():
    args = parse_args([], {})
    assert (args.learning_rate, args.num_units, args.dropout_rate) == (0.001, 128, 0.2)
    assert (args.batch_size, args.epochs, args.dataset) == (64, 20, "fashion_mnist")
    assert args.model_dir == DEFAULT_MODEL_DIR
    # The component's studies select each trial's best measurement by default.
    assert args.save_epoch == "best"


def test_model_dir_defaults_to_aip_model_dir_and_the_flag_wins():
    environ = {"AIP_MODEL_DIR": "gs://bucket/job/7/model/"}
    assert parse_args([], environ).model_dir == "gs://bucket/job/7/model/"
    assert parse_args(["--model-dir", "/tmp/m"], environ).model_dir == "/tmp/m"


def test_seed_is_a_flag_with_a_fixed_default():
    # A fixed number, not one drawn per process: trials with the same parameters repeat.
    assert parse_args([], {}).seed == 42
    assert parse_args(["--seed=3"], {}).seed == 3
