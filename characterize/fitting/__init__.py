"""The shared fitting machinery, one concept per module: :mod:`.grid` (a raw quantity as a
labelled grid), :mod:`.holdout` (the hold-out split and error statistics), :mod:`.table`
(lookup tables), :mod:`.form` (closed forms and polynomials), :mod:`.validate` (a model
against a raw sweep). The per-family fitters (:mod:`imcspice.characterize.fitters`) build on
these; the registry of fitters and the dispatch by model kind are in
:mod:`imcspice.characterize.fit`."""
