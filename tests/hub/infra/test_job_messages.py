"""Job progress messages are stored in English and shown in the reader's language."""

from hub import db as hub_db
from hub.infra.models import Job


def test_progress_message_follows_the_readers_language(app, client, make_user, login):
    user = make_user()
    with app.app_context():
        job = Job(kind="notebook_render", status="running", progress=10,
                  message="Rendering the notebook", owner_id=user.id)
        hub_db.session().add(job)
        hub_db.session().commit()
        job_id = job.id
    login(client, user)
    english = client.get(f"/jobs/{job_id}.json").get_json()
    assert english["message"] == "Rendering the notebook"
    chinese = client.get(f"/jobs/{job_id}.json", headers={"Accept-Language": "zh"}).get_json()
    assert chinese["message"] == "正在渲染笔记本"
