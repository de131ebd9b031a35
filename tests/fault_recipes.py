"""Recipes that misbehave on purpose, to test how the engine records failures."""
import os
import signal
import sys
import time

from imcspice.characterize.params import Param
from imcspice.characterize.recipe import Output, Recipe
from imcspice.characterize.recipes.device_iv import NfetIV


class FaultProbe(Recipe):
    """R1 || B1 with I(B1) = V^2 + c: a DC solution exists for c <= 1/4 only, so
    c = 1 is a genuinely non-converging operating point. ``action`` kills the
    worker process (as a crashed ngspice would), hangs in a femtosecond-step
    transient, or makes ngspice exit (a real fatal state of the shared library) when
    ``c`` equals ``trigger``."""

    name = "test-fault-probe"
    summary = "engine fault-injection probe (tests only)"
    params = (Param("c", 0.0, "A", "constant current term", min=-10, max=10),
              Param("trigger", 99.0, "A", "value of c that triggers the action", min=-100,
                    max=100),
              Param("action", "none", choices=("none", "kill", "hang", "quit"), kind="choice"))
    outputs = (Output("v_n", "V"),)

    def body(self, tech, p):
        return ["R1 n 0 1", "B1 n 0 I=V(n)*V(n)+{c}"]

    def commands(self, p):
        return ["op"]

    def simulate(self, ng, p):
        if p["c"] == p["trigger"]:
            if p["action"] == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if p["action"] == "hang":
                ng.run(["tran 1f 10"])
            if p["action"] == "quit":  # ngspice's own controlled exit: the library is gone
                ng.command("quit")
        return {"v_n": ng.run(["op"])["n"][0]}


#: environment variable naming the gate width (um) at and above which HeldNfetIV holds
HOLD_ENV = "IMCSPICE_TEST_HOLD_W_UM"


class HeldNfetIV(NfetIV):
    """nfet-iv whose points with ``w_um`` >= $IMCSPICE_TEST_HOLD_W_UM never finish (the
    worker sleeps until it is killed); without the variable it is plain nfet-iv. A sweep
    run with it set stops in a known, reproducible state (every other point done, the
    held ones in flight) however fast or slow the machine is, so a test can kill it
    mid-way without racing it."""

    name = "test-nfet-iv-held"

    def simulate(self, ng, p):
        hold = os.environ.get(HOLD_ENV)
        if hold is not None and p["w_um"] >= float(hold):
            time.sleep(3600)
        return super().simulate(ng, p)


def held_cli(*args: str) -> list[str]:
    """The command line of ``imcspice ARGS`` in a fresh interpreter that knows
    HeldNfetIV (run it with :func:`held_cli_env`, which puts this folder on the path of
    the coordinator and of the worker processes it spawns)."""
    code = ("import sys; from imcspice.characterize.recipes import register; "
            "from fault_recipes import HeldNfetIV; register(HeldNfetIV()); "
            "from imcspice.cli import main; sys.exit(main(sys.argv[1:]))")
    return [sys.executable, "-c", code, *args]


def held_cli_env(hold_w_um: float | None = None, **extra: str) -> dict[str, str]:
    """os.environ with this folder on PYTHONPATH, HOLD_ENV set to ``hold_w_um`` (or
    removed), and ``extra`` on top."""
    here = os.path.dirname(os.path.abspath(__file__))
    old = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([here, *old]), **extra)
    env.pop(HOLD_ENV, None)
    if hold_w_um is not None:
        env[HOLD_ENV] = str(hold_w_um)
    return env
