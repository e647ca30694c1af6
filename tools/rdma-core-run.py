#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# Run rdma-core's own pyverbs test suite (tests/run_tests.py, unchanged) and
# record every test's outcome in a file a script can read, as it happens:
#
#   rdma-core-run.py RECORD TESTS_DIR [run_tests.py ARGS...]
#   e.g. rdma-core-run.py out.tsv build/rdma-core-44.0/tests --dev rxe0 --gid 3 -v
#
# RECORD gets one line per event, tab-separated, flushed and fsynced at once
# so that it survives a guest that panics in the middle of a test:
#
#   start  TEST_ID
#   OK|SKIP|FAIL|ERROR  TEST_ID  REASON   (skip message, or the exception's
#                                          last line; tabs/newlines flattened)
#   note  WHAT  TEXT                      (not a test: a setting in effect)
#
# A "start" without an outcome names the test that was running when the run
# died. RDMA_CORE_TEST_TIMEOUT (seconds, default 120; 0 = none) bounds each
# test with SIGALRM: a test still running then errors with TimeoutError.
#
# RDMA_CORE_NETDEV_BY_PORT=1 (off by default; not used by make check) finds
# a device's netdev the way rdma-core 46 does (upstream c6696389b and
# a7e2b08d0: "rdma link show -j"), instead of 44's
# /sys/class/infiniband/DEV/device/net, which rxe, having no parent device,
# lacks: the RDMA-CM tests then run instead of skipping.
#
# Use /usr/bin/python3 (Debian's, with python3-pyverbs), not a pyenv shim.
import json
import os
import subprocess
import runpy
import signal
import sys
import traceback
import unittest

if len(sys.argv) < 3:
    sys.exit('usage: rdma-core-run.py RECORD TESTS_DIR [run_tests.py ARGS...]')
record_path, tests_dir = sys.argv[1], os.path.abspath(sys.argv[2])
run_tests = os.path.join(tests_dir, 'run_tests.py')
per_test = int(os.environ.get('RDMA_CORE_TEST_TIMEOUT', '120'))
record = open(record_path, 'a', encoding='utf-8')


def flat(s):
    return ' '.join(str(s).split())


def log(*fields):
    record.write('\t'.join(flat(f) for f in fields) + '\n')
    record.flush()
    os.fsync(record.fileno())


def last_line(err):
    """The exception's own line of a formatted traceback (type: message)."""
    etype, value, _ = err
    msg = flat(''.join(traceback.format_exception_only(etype, value)))
    return msg[:300]


def on_alarm(signum, frame):
    raise TimeoutError(f'rdma-core-run: test still running after {per_test} s')


def netdev_by_port(self, dev, port, idx):
    """RDMATestCase._get_ip_mac of rdma-core 46 (c6696389b, a7e2b08d0)."""
    net_name = None
    for row in json.loads(subprocess.check_output(['rdma', 'link', 'show', '-j'])):
        if row.get('ifname') == dev and row.get('port') == port and 'netdev' in row:
            net_name = row['netdev']
            break
    if net_name is None and os.path.exists(f'/sys/class/infiniband/{dev}/device/net/'):
        net_name = self.get_net_name(dev)
    if net_name is None:
        self.args.append([dev, port, idx, None, None])
        return
    try:
        ip_addr, mac_addr = self.get_ip_mac_address(net_name)
    except (KeyError, IndexError):
        self.args.append([dev, port, idx, None, None])
    else:
        self.args.append([dev, port, idx, ip_addr, mac_addr])


class RecordingResult(unittest.TextTestResult):
    patched = False

    def startTest(self, test):
        if os.environ.get('RDMA_CORE_NETDEV_BY_PORT') == '1' and not self.patched:
            sys.modules['tests.base'].RDMATestCase._get_ip_mac = netdev_by_port
            RecordingResult.patched = True
            log('note', 'RDMA_CORE_NETDEV_BY_PORT', 'netdev lookup of rdma-core 46')
        log('start', test.id())
        if per_test > 0:
            signal.alarm(per_test)
        super().startTest(test)

    def stopTest(self, test):
        signal.alarm(0)
        super().stopTest(test)

    def addSuccess(self, test):
        log('OK', test.id(), '')
        super().addSuccess(test)

    def addSkip(self, test, reason):
        log('SKIP', test.id(), reason)
        super().addSkip(test, reason)

    def addFailure(self, test, err):
        log('FAIL', test.id(), last_line(err))
        super().addFailure(test, err)

    def addError(self, test, err):
        # setUpClass/module errors come as a _ErrorHolder, not a TestCase.
        log('ERROR', test.id(), last_line(err))
        super().addError(test, err)

    def addExpectedFailure(self, test, err):
        log('OK', test.id(), 'expected failure')
        super().addExpectedFailure(test, err)

    def addUnexpectedSuccess(self, test):
        log('FAIL', test.id(), 'unexpected success')
        super().addUnexpectedSuccess(test)

    def addSubTest(self, test, subtest, err):
        if err is not None:
            kind = 'FAIL' if issubclass(err[0], test.failureException) else 'ERROR'
            log(kind, test.id(), f'{subtest.id()}: {last_line(err)}')
        super().addSubTest(test, subtest, err)


signal.signal(signal.SIGALRM, on_alarm)
# unittest.main() (in run_tests.py) builds a TextTestRunner without a
# resultclass argument, so the class attribute decides.
unittest.TextTestRunner.resultclass = RecordingResult
# What "python3 TESTS_DIR/run_tests.py ARGS" would see.
sys.path.insert(0, tests_dir)
sys.argv = [run_tests] + sys.argv[3:]
runpy.run_path(run_tests, run_name='__main__')
