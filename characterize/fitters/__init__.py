"""The fitters of each circuit family, one module per family, each function registered
with ``@fitter(kind, recipes=...)`` (:data:`imcspice.characterize.fit.FITTERS`). The
registry imports every module here before its first lookup: a new family's module needs
no list. The machinery they share is :mod:`imcspice.characterize.fitting`."""
