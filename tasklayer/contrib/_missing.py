"""The ``__getattr__`` of the ``tf.contrib`` modules: a name TF 1.x had there that tasklayer does not provide fails
with an AttributeError that says so, rather than a bare one."""

__all__ = ["missing_names_hook"]


def missing_names_hook(module_name, public_name, hint):
    """A module ``__getattr__`` for ``module_name`` (shown to users as ``public_name``, e.g. ``tf.contrib.layers``)
    whose error names the missing attribute and says where to look (``hint``)."""
    def __getattr__(name):
        if name.startswith("__"):  # the import system and inspect probe dunders: answer as any module would
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}: {public_name}.{name} of "
                             f"TensorFlow 1.x is not provided by tasklayer ({hint})")
    return __getattr__
