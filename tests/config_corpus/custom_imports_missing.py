custom_imports = dict(imports=['segnb_no_such_module.models'], allow_failed_imports=False)
model = dict(type='segnb_no_such_module.Net')
