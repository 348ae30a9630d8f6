_base_ = ['bases/model.py', 'bases/model_copy.py']
