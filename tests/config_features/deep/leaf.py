_base_ = ['./grandchild.yaml']
runner = dict(max_iters=80)
palette = [[0, 0, 255], [255, 0, 0]]
