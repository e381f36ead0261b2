"""Every op case of ``tests/op_cases`` run on tasklayer and checked against numpy (or its ``check``)."""

import pytest

import tasklayer as tf
from tests import op_cases

CASES = op_cases.all_cases()


@pytest.mark.parametrize("op_case", CASES, ids=[c.name for c in CASES])
def test_op_case(op_case):
    if op_case.raises:
        op_cases.check_raises(tf, op_case)
        return
    values = op_cases.run(tf, op_case)
    if op_case.expect is not None:
        op_cases.assert_close(values, op_case.expect(), op_case.rtol, op_case.atol, op_case.check_dtype)
    if op_case.check is not None:
        op_case.check(values)
    assert op_case.expect is not None or op_case.check is not None, "a case must expect or check something"
