"Necks: importing this package registers them in `MODELS`."
