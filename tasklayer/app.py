"""``tf.app``: ``tf.app.run(main=None, argv=None)`` and ``tf.app.flags``, as in TF 1.x (absl's ``app.run``).

``run`` parses the command line into ``tf.app.flags.FLAGS`` (flags it does not know stay in argv), calls
``main(argv)`` with what is left (the program name first) and exits with what ``main`` returns:
``sys.exit(main(argv))``. ``--help`` prints the program's flags and exits; a bad flag value exits with a message.
``main`` defaults to the ``main`` function of the ``__main__`` module.

>>> import tasklayer as tf
>>> tf.app.flags is tf.flags
True
"""

import sys

from absl.app import run as _absl_run

from tasklayer import flags  # noqa: F401 - tf.app.flags


def _parse_flags_tolerate_undef(argv):
    """Parse ``argv`` into FLAGS, returning the arguments left (unknown flags included: absl would exit)."""
    return flags.FLAGS(sys.argv if argv is None else argv, known_only=True)


def run(main=None, argv=None):
    """Run ``main(argv)`` after parsing the flags of ``argv`` (default ``sys.argv``), then exit with its result."""
    main = main or sys.modules["__main__"].main
    _absl_run(main=main, argv=argv, flags_parser=_parse_flags_tolerate_undef)
