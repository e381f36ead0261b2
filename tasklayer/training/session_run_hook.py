"""What a ``tf.train`` session hook is (TF's ``session_run_hook``): the ``SessionRunHook`` base class and the
``SessionRunArgs``, ``SessionRunContext`` and ``SessionRunValues`` a hook sees around each run. Apart from
``MonitoredTrainingSession`` so that the standard hooks (``basic_hooks``) and the session that adds them import
it one way."""

__all__ = ["SessionRunArgs", "SessionRunValues", "SessionRunContext", "SessionRunHook"]


class SessionRunArgs:
    """What a hook adds to a ``run``: ``fetches`` (any structure ``Session.run`` takes) and ``feed_dict``."""

    def __init__(self, fetches, feed_dict=None, options=None):
        self.fetches, self.feed_dict, self.options = fetches, feed_dict, options


class SessionRunValues:
    """What a hook's fetches returned (``results``)."""

    def __init__(self, results, options=None, run_metadata=None):
        self.results, self.options, self.run_metadata = results, options, run_metadata


class SessionRunContext:
    """The ``run`` a hook sees: the original fetches, the raw session, and ``request_stop``."""

    def __init__(self, original_args, session):
        self.original_args, self.session = original_args, session
        self._stop_requested = False

    def request_stop(self):
        """Ask the monitored session to stop: ``should_stop()`` becomes True after this run."""
        self._stop_requested = True

    @property
    def stop_requested(self):
        """Whether a hook asked to stop."""
        return self._stop_requested


class SessionRunHook:
    """Base class of hooks: every method is a no-op unless overridden."""

    def begin(self):
        """Called once before the session is created (the graph may still be changed)."""

    def after_create_session(self, session, coord):
        """Called when a session is ready (initialized or restored)."""

    def before_run(self, run_context):
        """A ``SessionRunArgs`` to add to this run, or None."""
        return None

    def after_run(self, run_context, run_values):
        """Called with the results of the fetches ``before_run`` asked for."""

    def end(self, session):
        """Called when the monitored session closes normally."""
