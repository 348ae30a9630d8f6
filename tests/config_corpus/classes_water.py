_base_ = ['bases/model.py', 'bases/data.py']
data = dict(train=dict(classes='water', palette=[[0, 0, 255]]))
