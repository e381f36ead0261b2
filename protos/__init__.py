"""Protocol definitions and the code generated from them (do not edit *_pb2*.py)."""
