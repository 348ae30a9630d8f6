_base_ = 'bases/model.py'
optimizer = dict(_delete_=True, type='AdamW', lr=6e-5)
