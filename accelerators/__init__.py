def __getattr__(name):
    # ``imcspice.accelerators.convert(model, arch)`` without importing torch up front
    if name == "convert":
        import importlib
        return importlib.import_module(".convert", __name__)
    raise AttributeError(name)
