train_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                  dict(type='Resize', img_scale=(128, 64), ratio_range=(0.5, 2.0))]
data = dict(samples_per_gpu=2, train=dict(type='ShapesDataset', data_root='data/shapes', pipeline=train_pipeline))
