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

While Mesa imports, :func:`_quick_frames` also stands in for ``inspect.stack``,
``inspect.getouterframes`` and ``inspect.getmodule`` (of a frame): ``mesa.model`` names its
logger and its step's method logger from the calling frame with them, and the stdlib
versions find every frame's source file and search ``sys.modules`` for it (about 0.05 s
of CPU per process). The stand-ins give the same names (frame infos without source lines);
the originals are back as soon as ``import mesa`` returns.

Nothing changes if Mesa is already imported, and ``ASYLUMSIM_EAGER_IMPORTS=1`` turns the
placeholders and the stand-ins off.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import importlib.util
import inspect
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


@contextlib.contextmanager
def _quick_frames():
    """``inspect.stack``, ``getouterframes`` and ``getmodule`` (of a frame) without reading
    source files, for the duration of the block (see the module docstring)."""
    saved = inspect.stack, inspect.getouterframes, inspect.getmodule

    def infos(frame):
        out = []
        while frame is not None:
            code = frame.f_code
            out.append(inspect.FrameInfo(frame, code.co_filename, frame.f_lineno, code.co_name, None, None,
                                         positions=None))
            frame = frame.f_back
        return out

    def getmodule(obj, _filename=None):
        if inspect.isframe(obj) and obj.f_globals.get("__name__") in sys.modules:
            return sys.modules[obj.f_globals["__name__"]]
        return saved[2](obj, _filename)

    inspect.stack = lambda context=1: infos(sys._getframe(1))
    inspect.getouterframes = lambda frame, context=1: infos(frame)
    inspect.getmodule = getmodule
    try:
        yield
    finally:
        inspect.stack, inspect.getouterframes, inspect.getmodule = saved


def import_mesa() -> types.ModuleType:
    """``import mesa``, deferring :data:`DEFERRED` when Mesa is not imported yet."""
    if "mesa" not in sys.modules and os.environ.get("ASYLUMSIM_EAGER_IMPORTS") != "1":
        for name in DEFERRED:
            if name not in sys.modules:
                try:
                    _defer(name)
                except (ImportError, ValueError):  # pragma: no cover - a Mesa without it
                    pass
        with _quick_frames():
            import mesa
    import mesa

    return mesa


mesa = import_mesa()  # ``from sim.lazy_mesa import mesa`` in place of ``import mesa``
