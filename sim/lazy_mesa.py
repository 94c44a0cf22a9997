"""Import Mesa without the subpackages the model never uses (start-up time).

``import mesa`` runs Mesa's package ``__init__``, which imports ``mesa.discrete_space``
(scipy.spatial and networkx, about 0.5 s) and ``mesa.experimental``'s continuous space
(scipy) although the model uses only ``mesa.Model``, ``mesa.Agent`` and the agent sets.
:func:`import_mesa` first registers a placeholder module for each of :data:`DEFERRED`;
a placeholder loads the real subpackage the first time one of its attributes is read
(``from mesa.discrete_space import OrthogonalMooreGrid`` works as before, and
``import mesa.discrete_space.grid`` imports that submodule as usual). The stdlib's
``importlib.util.LazyLoader`` cannot do this: the import system reads ``__spec__`` of a
module it finds in ``sys.modules``, which loads a lazy module at once.

Nothing changes if Mesa is already imported, and ``ASYLUMSIM_EAGER_IMPORTS=1`` turns the
placeholders off.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
import types

DEFERRED = ("mesa.discrete_space", "mesa.experimental.continuous_space", "mesa.experimental.meta_agents",
            "mesa.experimental.devs", "mesa.space")


class _Deferred(types.ModuleType):
    """Placeholder of a module: becomes the real one (its code run in this very module
    object, as an import would) on the first attribute it does not have."""

    def __getattr__(self, attr: str):
        if attr.startswith("__") and attr.endswith("__") and attr != "__all__":
            raise AttributeError(attr)  # dunder probes (copy, pickle, inspect) do not load it; star imports do
        name = self.__name__
        self.__class__ = types.ModuleType  # from now on an ordinary module
        # a submodule imported before the package (``import mesa.discrete_space.grid``) is
        # still running and would import the package back: let the package import fresh
        # copies (the import system then returns those from sys.modules)
        partial = {k: sys.modules.pop(k) for k in list(sys.modules)
                   if k.startswith(name + ".") and getattr(getattr(sys.modules[k], "__spec__", None), "_initializing", False)}
        try:
            self.__spec__.loader.exec_module(self)
        except BaseException:
            sys.modules.update({k: v for k, v in partial.items() if k not in sys.modules})
            raise
        return getattr(self, attr)


def _defer(name: str) -> None:
    top = importlib.util.find_spec(name.split(".")[0])  # a top-level spec does not import the package
    if top is None or top.submodule_search_locations is None:
        return
    path = list(top.submodule_search_locations)
    for part in name.split(".")[1:-1]:
        path = [os.path.join(p, part) for p in path]
    spec = importlib.machinery.PathFinder.find_spec(name, path)
    if spec is None:
        return
    mod = _Deferred(name)
    mod.__spec__ = spec
    mod.__loader__ = spec.loader
    mod.__file__ = spec.origin
    if spec.submodule_search_locations is not None:
        mod.__path__ = list(spec.submodule_search_locations)
    sys.modules[name] = mod


def import_mesa() -> types.ModuleType:
    """``import mesa``, deferring :data:`DEFERRED` when Mesa is not imported yet."""
    if "mesa" not in sys.modules and os.environ.get("ASYLUMSIM_EAGER_IMPORTS") != "1":
        for name in DEFERRED:
            if name not in sys.modules:
                try:
                    _defer(name)
                except (ImportError, ValueError):  # pragma: no cover - a Mesa without it
                    pass
    import mesa

    return mesa


mesa = import_mesa()  # ``from sim.lazy_mesa import mesa`` in place of ``import mesa``
