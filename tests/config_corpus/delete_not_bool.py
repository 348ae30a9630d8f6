_base_ = 'bases/model.py'
model = dict(backbone=dict(_delete_='yes', type='ResNet', depth=50))
