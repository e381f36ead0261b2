"""The distributed runtime behind ``tf.train.Server`` and ``tf.Session("grpc://...")``, in three parts, as
``resmgr/`` is a pure core and a daemon (the layers are checked by ``tests/test_import_layers.py``):

- the step planner, pure (no sockets, no threads): ``step_planner`` (sessions, the plan cache and its retirement),
  ``plan_builder`` (prune, place, partition), ``feed_routing`` (where a client may push its feeds);
- the peer transport, one interface (``peer_transport``) chosen once per peer (``peers``): ``grpc_transport`` or
  ``channel_transport``, the latter over the tensor channel (``channel_codec``, ``channel_server``,
  ``channel_client``); gRPC stubs in ``worker_client``, tensors in gRPC messages in ``tensor_stream``;
- the runtime, which orchestrates threads, deadlines and liveness: ``master`` and ``step_run``, ``worker`` and
  ``step_table``, ``liveness``, the servicers (``master_service``, ``worker_service``, ``grpc_handlers``, errors
  as gRPC status codes in ``errors``), ``server``; a client's side in ``remote_session``, ``master_client`` and
  ``feed_router``.
"""
