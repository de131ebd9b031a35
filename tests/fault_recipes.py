"""Recipes that misbehave on purpose, to test how the engine records failures."""
import os
import signal

from imcspice.characterize.params import Param
from imcspice.characterize.recipe import Output, Recipe


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
