_base_ = 'bases/model.py'
norm = {{ _base_.model.neck }}
