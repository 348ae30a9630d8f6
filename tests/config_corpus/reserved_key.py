_base_ = 'bases/model.py'
filename = 'my_run.py'
