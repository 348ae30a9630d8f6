crop = {{ _base_.crop_size }}
