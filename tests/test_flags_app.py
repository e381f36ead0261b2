"""tf.app.run, tf.flags and tf.logging as TF 1.x programs use them: real scripts run with argv, as users run them."""

import json
import logging
import subprocess
import sys
import textwrap

import pytest

import tasklayer as tf

PROGRAM = textwrap.dedent("""
    import json
    import tasklayer as tf

    flags = tf.app.flags
    flags.DEFINE_string("data_dir", "/tmp/data", "Where data lives.")
    flags.DEFINE_integer("steps", 10, "Training steps.")
    flags.DEFINE_float("lr", 0.5, "Learning rate.")
    flags.DEFINE_boolean("fake", False, "Fake data.")
    tf.flags.DEFINE_list("hosts", "a,b", "Hosts.")
    tf.flags.DEFINE_enum("job_name", "worker", ["ps", "worker"], "Job.")
    FLAGS = flags.FLAGS


    def main(argv):
        print(json.dumps({"argv": argv, "flags": FLAGS.flag_values_dict()}))
        return 3 if FLAGS.fake else None


    if __name__ == "__main__":
        tf.app.run()
""")

LAZY = textwrap.dedent("""
    import tasklayer as tf

    tf.flags.DEFINE_integer("steps", 10, "Training steps.")
    print("steps", tf.flags.FLAGS.steps)
""")

LOGGING = textwrap.dedent("""
    import tasklayer as tf

    tf.logging.info("not shown: WARN is the default threshold")
    tf.logging.warn("warned %d", 1)
    tf.logging.set_verbosity(tf.logging.INFO)
    for i in range(5):
        tf.logging.log_every_n(tf.logging.INFO, "every %d", 2, i)
        tf.logging.log_first_n(tf.logging.INFO, "first %d", 2, i)
    tf.logging.debug("not shown: below INFO")
    tf.logging.fatal("fatal logs and goes on")
    tf.logging.info("still running")
""")


def _run(tmp_path, source, *args):
    script = tmp_path / "prog.py"
    script.write_text(source)
    return subprocess.run([sys.executable, script.name, *args], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)


def test_app_run_parses_flags_and_hands_the_rest_to_main(tmp_path):
    proc = _run(tmp_path, PROGRAM, "--steps=20", "--lr", "0.1", "--fake", "--hosts=x,y", "extra", "--unknown=1",
                "--job_name", "ps")
    assert proc.returncode == 3, proc.stderr  # sys.exit(main(argv))
    out = json.loads(proc.stdout)
    assert out["argv"] == ["prog.py", "extra", "--unknown=1"]
    assert {k: out["flags"][k] for k in ("data_dir", "steps", "lr", "fake", "hosts", "job_name")} == {
        "data_dir": "/tmp/data", "steps": 20, "lr": 0.1, "fake": True, "hosts": ["x", "y"], "job_name": "ps"}


def test_noflag_turns_a_boolean_off_and_defaults_stay(tmp_path):
    proc = _run(tmp_path, PROGRAM, "--fake", "--nofake")
    assert proc.returncode == 0, proc.stderr
    flags = json.loads(proc.stdout)["flags"]
    assert (flags["fake"], flags["steps"], flags["hosts"]) == (False, 10, ["a", "b"])


def test_help_lists_the_programs_flags_and_exits(tmp_path):
    proc = _run(tmp_path, PROGRAM, "--help")
    assert proc.returncode == 1  # absl's --help exit status, as TF 1.x
    for line in ("USAGE: prog.py [flags]", "--steps: Training steps.", "(an integer)", "--[no]fake: Fake data.",
                 "--job_name: <ps|worker>: Job."):
        assert line in proc.stdout, proc.stdout


def test_a_bad_flag_value_fails_naming_the_flag(tmp_path):
    proc = _run(tmp_path, PROGRAM, "--steps=abc")
    assert proc.returncode == 1
    assert "IllegalFlagValueError: flag --steps=abc" in proc.stderr


def test_flags_parse_on_first_read_without_app_run(tmp_path):
    proc = _run(tmp_path, LAZY, "--steps", "7")
    assert (proc.returncode, proc.stdout.strip()) == (0, "steps 7"), proc.stderr
    unknown = _run(tmp_path, LAZY, "--stepz=7")
    assert unknown.returncode == 1 and "Unknown command line flag 'stepz'" in unknown.stderr


def test_logging_threshold_format_and_counters(tmp_path):
    proc = _run(tmp_path, LOGGING)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        "WARNING:tensorflow:warned 1",
        "INFO:tensorflow:every 0", "INFO:tensorflow:first 0", "INFO:tensorflow:first 1",
        "INFO:tensorflow:every 2", "INFO:tensorflow:every 4",
        "CRITICAL:tensorflow:fatal logs and goes on", "INFO:tensorflow:still running"]


# ---------------------------------------------------------------- in process
def test_flag_values_take_tf1_keyword_names_and_aliases():
    fv = tf.flags.FlagValues()
    tf.flags.DEFINE_string(flag_name="mode", default_value="train", docstring="Mode.", flag_values=fv)
    tf.flags.DEFINE_bool("sync", True, "Sync.", flag_values=fv)
    assert fv(["prog", "--mode", "eval", "--nosync", "rest"]) == ["prog", "rest"]
    assert fv.flag_values_dict() == {"mode": "eval", "sync": False}
    assert tf.app.flags is tf.flags and tf.flags.DEFINE_boolean is tf.flags.DEFINE_bool


def test_flags_wrapper_does_not_parse_when_probed_for_dunders():
    assert not hasattr(tf.flags.FLAGS, "__wrapped__")
    assert not tf.flags.FLAGS.is_parsed()  # pytest's own argv was not parsed as flags


@pytest.fixture
def info_level():
    before = tf.logging.get_verbosity()
    tf.logging.set_verbosity(tf.logging.INFO)
    yield
    tf.logging.set_verbosity(before)


def test_logging_records_name_the_callers_line(caplog, info_level):
    with caplog.at_level(logging.INFO, logger="tensorflow"):
        tf.logging.info("value %s", 42)
    record = caplog.records[-1]
    assert (record.name, record.getMessage(), record.filename) == ("tensorflow", "value 42", "test_flags_app.py")
    assert tf.logging.get_verbosity() == tf.logging.INFO == logging.INFO
    assert tf.logging.WARN == logging.WARN and tf.logging.FATAL == logging.FATAL
