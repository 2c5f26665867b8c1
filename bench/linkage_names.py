# ruff: noqa: RUF001 - Arabic letters are this module's data
"""Name tables of the linkage benchmark, written for it, independently of the demo's generator
(``dalil.demo.people``) and of the spelling tables of ``dalil.names``.

Each line: the name in Arabic script, ``=``, then its Latin spellings as organisations and
families write them, the commonest first (``_`` stands for a space inside one spelling). Given
names are listed roughly from the commonest down, which is the order the Zipf weights follow.
A family name whose Arabic starts with the article (ال) gets its Latin article from the
corruption code (al-, el-, Al, as-, joined, or none), so its spellings here are bare.
"""

from __future__ import annotations

from dataclasses import dataclass

_MEN = """
محمد = Mohammad Muhammad Mohamed Mohammed Mohamad Muhamad Mhd Mouhamad
أحمد = Ahmad Ahmed Ahmet
محمود = Mahmoud Mahmud Mahmood
علي = Ali Aly
عمر = Omar Umar Omer
خالد = Khaled Khalid
حسن = Hasan Hassan
حسين = Hussein Hussain Husein Hossein
عبد الله = Abdullah Abdallah Abd_Allah Abdulla
يوسف = Yousef Youssef Yusuf Yousif
إبراهيم = Ibrahim Ebrahim Ibraheem
مصطفى = Mustafa Moustafa Mostafa Mustapha
عبد الرحمن = Abdulrahman Abdul_Rahman Abdelrahman Abd_al-Rahman Abdurrahman
خليل = Khalil Khaleel
أسامة = Osama Usama Oussama
عبد الكريم = Abdulkarim Abdul_Karim Abdelkarim
عبد القادر = Abdulkader Abdulqader Abdelkader Abd_al-Qadir
صالح = Saleh Salih
سعيد = Said Saeed Sa'id
حمزة = Hamza Hamzeh Hamzah
بلال = Bilal Belal
أنس = Anas Anass
ياسر = Yasser Yaser Yasir
وليد = Walid Waleed Oualid
عمار = Ammar Amar
سليمان = Suleiman Sulaiman Soliman
إسماعيل = Ismail Ismael Esmail
يحيى = Yahya Yehia Yahia
عبد العزيز = Abdulaziz Abdelaziz Abdul_Aziz
هشام = Hisham Hicham Hesham
مروان = Marwan Marouane
عدنان = Adnan
سمير = Samir Sameer
نبيل = Nabil Nabeel
جميل = Jamil Jameel
أيمن = Ayman Aymen Aiman
عماد = Imad Emad
رياض = Riad Riyad Riyadh
غياث = Ghiath Ghayath Ghiyath
مهند = Muhannad Mohannad Mohanad
فراس = Firas Feras
لؤي = Louay Luay Loai
حازم = Hazem Hazim
رائد = Raed Ra'ed Raid
إياد = Iyad Eyad
جهاد = Jihad Jehad
نضال = Nidal Nedal
سامي = Sami Samy
رضوان = Radwan Ridwan
كمال = Kamal Kamel
أكرم = Akram
منير = Munir Mounir
زكريا = Zakaria Zakariya Zakariyya
أيهم = Ayham Aiham
قصي = Qusay Qussai Kusai
عبادة = Obada Ubada Obadah
فواز = Fawaz Fawwaz
نزار = Nizar Nezar
وسيم = Wassim Wasim Waseem
خلدون = Khaldoun Khaldun
معاذ = Muaz Moaz Mouaz
معتز = Moataz Mutaz Motaz
ماهر = Maher Mahir
ناصر = Nasser Naser Nasir
منصور = Mansour Mansur
جمعة = Jumaa Jomaa Juma
رمضان = Ramadan Ramadhan
شادي = Shadi Chadi
طلال = Talal
عامر = Amer Aamer
زياد = Ziad Ziyad
فادي = Fadi Fady
رامي = Rami Ramy
باسل = Basel Basil Bassel
وائل = Wael Wa'il
بشار = Bashar Bachar
مازن = Mazen Mazin
غسان = Ghassan
هيثم = Haitham Haytham
طارق = Tarek Tariq
نور الدين = Nour_al-Din Nureddin Noureddine
قاسم = Qasem Kassem Qasim
جمال = Jamal Gamal
ثائر = Thaer Thair
فيصل = Faisal Faysal
حسام = Hussam Hosam Housam
عصام = Issam Essam
همام = Humam Homam
مؤمن = Moumen Momen Mu'min
موسى = Musa Moussa Mousa
عيسى = Issa Eissa
مالك = Malek Malik
نادر = Nader Nadir
راتب = Ratib Rateb
أديب = Adib Adeeb
شريف = Sharif Cherif
عادل = Adel Adil
نجيب = Najib Najeeb
سهيل = Suhail Souheil
مهدي = Mahdi Mehdi
مرهف = Murhaf Morhaf
عبد الغني = Abdulghani Abdelghani Abdul_Ghani
عبد الباسط = Abdulbaset Abdelbasset Abdul_Basit
عبد الحميد = Abdulhamid Abdelhamid Abdul_Hamid
عبد الرزاق = Abdulrazzaq Abdelrazak Abdul_Razzak
عبد السلام = Abdulsalam Abdessalam Abdul_Salam
"""

_WOMEN = """
فاطمة = Fatima Fatma Fatimah Fatmeh
عائشة = Aisha Aysha Aicha
خديجة = Khadija Khadijah
آمنة = Amina Amena Aminah
مريم = Maryam Mariam Meryem
زينب = Zainab Zeinab Zaynab
نور = Nour Noor Nur
هدى = Huda Hoda Houda
أسماء = Asmaa Asma
منى = Mona Muna Mouna
ريم = Reem Rim
هبة = Hiba Heba
رشا = Rasha Racha
سمر = Samar
سعاد = Suad Souad
نجوى = Najwa Nagwa
نسرين = Nisreen Nesrine
غادة = Ghada Ghadah
ميساء = Maysaa Maisa
روان = Rawan
آلاء = Alaa Ala'a
ياسمين = Yasmin Yasmine Yasmeen
ليلى = Layla Leila Laila
سلمى = Salma Selma
سارة = Sara Sarah
دعاء = Duaa Doaa
منال = Manal
وفاء = Wafaa Wafa
رقية = Ruqayya Rukaya
إيمان = Iman Eman Imane
سوسن = Sawsan Sousan
بتول = Batoul Batul
"""

_FAMILIES = """
الحلبي = Halabi Halaby
الحمصي = Homsi Humsi Himsi
الشامي = Shami Chami
العلي = Ali Aly
الأحمد = Ahmad Ahmed
المحمد = Mohammad Muhammad Mohamed
الحسن = Hasan Hassan
الخطيب = Khatib Khateeb
النجار = Najjar Najar
الحداد = Haddad Hadad
الحموي = Hamwi Hamawi Hamoui
الإدلبي = Idlibi Edlibi
الدمشقي = Dimashqi Demashki
الديري = Deiri Dairi
الحوراني = Hourani Horani Hurani
الزعبي = Zoubi Zu'bi Zubi
المقداد = Miqdad Mekdad
الحريري = Hariri
الرفاعي = Rifai Refai
الكردي = Kurdi Kordi
المصري = Masri Masry
درويش = Darwish Darwich
عثمان = Othman Osman Uthman
الشيخ = Sheikh Cheikh Shaikh
الحسين = Hussein Hussain
العمر = Omar Omer
الخليل = Khalil Khaleel
الإبراهيم = Ibrahim Ebrahim
الصالح = Saleh Salih
الموسى = Mousa Musa
العيسى = Issa Eissa
الجاسم = Jasem Jassim Jasim
الحمد = Hamad Hamed
يونس = Younes Yunus Younis
شحادة = Shehadeh Chehade Shahada
حمود = Hammoud Hamoud
سلامة = Salameh Salama
الصباغ = Sabbagh Sabagh
الخياط = Khayyat Khayat
الحلاق = Hallaq Hallak
القصاب = Qassab Kassab
الطحان = Tahhan Tahan
العطار = Attar Atar
السمان = Samman Saman
البيطار = Bitar Baytar Beitar
الزيات = Zayyat Zayat
الإمام = Imam Emam
القاضي = Qadi Kadi
المفتي = Mufti Moufti
الحاج = Hajj Haj Hadj
الأسود = Aswad
الأحمر = Ahmar
الأشقر = Ashqar Ashkar
الطويل = Tawil Taweel
النعيمي = Nuaimi Naimi
الشمري = Shammari Shamri
الجبوري = Jubouri Jabouri
العبيدي = Obeidi Ubaidi
الدليمي = Dulaimi Dleimi
العنزي = Anazi Enezi
الخالدي = Khalidi Khaldi
البكري = Bakri Bekri
الأنصاري = Ansari
الهاشمي = Hashemi Hashimi
الحسيني = Husseini Hosseini
الكيلاني = Kilani Keilani
الأتاسي = Atassi Atasi
الجابري = Jabri Jaberi
القدسي = Qudsi Koudsi
العظمة = Azma Azmeh
السباعي = Sibai Sebai
الملا = Mulla Molla
الشهابي = Shihabi Chehabi
العابد = Abed Abid
الدروبي = Droubi Durubi
الطرطوسي = Tartousi Tartusi
الحمداني = Hamdani
التركماني = Turkmani Torkmani
قباني = Qabbani Kabbani
بكور = Bakkour Bakour
حمدان = Hamdan
زيدان = Zeidan Zaidan
عمران = Omran Imran
سليمان = Suleiman Sleiman
مراد = Murad Mourad
نصر = Nasr Nassr
فارس = Fares Faris
حيدر = Haidar Haydar
عبود = Abboud Aboud
حمادة = Hamadeh Hamada
دياب = Diab Dyab
خليفة = Khalifa Khalifeh
شعبان = Shaaban Chaabane
رجب = Rajab Ragab
طه = Taha
بركات = Barakat
حجازي = Hijazi Hegazi
عرنوس = Arnous Arnus
كيالي = Kayyali Kayali
قطان = Qattan Kattan
مارديني = Mardini
إدريس = Idris Idriss
أبو زيد = Abu_Zeid Abou_Zaid Abuzeid
أبو عمر = Abu_Omar Abou_Omar
ملحم = Melhem Mulhim
نعسان = Naasan Na'san
زين الدين = Zeineddine Zain_al-Din
شمس الدين = Shamseddine Shams_al-Din
سيف = Saif Seif
غنام = Ghannam Ghanam
هلال = Hilal Helal
رحال = Rahhal Rahal
كنعان = Kanaan Kanan
خضر = Khodr Khidr Khader
عساف = Assaf Asaf
صقر = Saqr Sakr
نمر = Nimr Nemr
ذيب = Dhib Deeb
مرعي = Marai Mer'i
سويد = Sweid Suwaid
عجاج = Ajjaj Ajaj
ضاهر = Daher Dahir
حاج علي = Hajj_Ali Haj_Ali Hajali
"""

_PLACES = """
دمشق = Damascus Dimashq Damas
حلب = Aleppo Halab Alep
حمص = Homs Hims
حماة = Hama Hamah
اللاذقية = Latakia Lattakia
درعا = Daraa Dar'a Deraa
إدلب = Idlib Idleb
دير الزور = Deir_ez-Zor Deir_al-Zour
الرقة = Raqqa Raqqah
طرطوس = Tartus Tartous
داريا = Darayya Daraya
دوما = Douma Duma
الزبداني = Zabadani
التل = Al-Tall Tal
القصير = Qusayr Qusair
الرستن = Rastan
تلبيسة = Talbiseh Talbisa
سراقب = Saraqib Saraqeb
جسر الشغور = Jisr_al-Shughur Jisr_ash-Shughur
نوى = Nawa
انخل = Inkhil Inkhel
القامشلي = Qamishli Kamishli
الحسكة = Hasakah Hassake
منبج = Manbij Menbij
الباب = Al-Bab Bab
عفرين = Afrin Efrin
بانياس = Baniyas Banias
جبلة = Jableh Jabla
السلمية = Salamiyah Salamieh
يبرود = Yabroud Yabrud
النبك = Nabk Nabek
قطنا = Qatana Katana
جرمانا = Jaramana
الضمير = Dumayr Dmeir
"""


@dataclass(frozen=True, slots=True)
class Name:
    arabic: str
    latin: tuple[str, ...]

    @property
    def has_article(self) -> bool:
        return self.arabic.startswith("ال")


def _table(text: str) -> tuple[Name, ...]:
    out = []
    for line in text.strip().splitlines():
        arabic, _, latin = line.partition("=")
        out.append(Name(arabic.strip(), tuple(s.replace("_", " ") for s in latin.split())))
    return tuple(out)


MEN = _table(_MEN)
WOMEN = _table(_WOMEN)
FAMILIES = _table(_FAMILIES)
PLACES = _table(_PLACES)

# Letters of generated family names (the long tail of a real population): Arabic letter, Latin
# renderings (the first is the usual one). Used by ``linkage_data.tail_family``.
LETTERS = {
    "ب": ("b",), "ت": ("t",), "ث": ("th", "s"), "ج": ("j", "g", "dj"), "ح": ("h",),
    "خ": ("kh",), "د": ("d",), "ذ": ("dh", "z"), "ر": ("r",), "ز": ("z",), "س": ("s",),
    "ش": ("sh", "ch"), "ص": ("s",), "ض": ("d", "dh"), "ط": ("t",), "ظ": ("z", "dh"),
    "ع": ("'", ""), "غ": ("gh",), "ف": ("f",), "ق": ("q", "k"), "ك": ("k",), "ل": ("l",),
    "م": ("m",), "ن": ("n",), "ه": ("h",), "و": ("w",), "ي": ("y",),
}  # fmt: skip

# Patterns of Arabic family names over a root of three letters (1, 2, 3): the Arabic template
# and the Latin one, where {a}/{i}/{u} are vowels with their usual spellings and a doubled
# letter may be written once.
PATTERNS = (
    ("12ا3", "{1}a{2}{2}a{3}"),  # fa''al: Haddad, Khabbaz
    ("123ان", "{1}a{2}{3}an"),  # fa'lan: Hamdan
    ("م12و3", "ma{1}{2}{u}{3}"),  # maf'ul: Masoud
    ("1ا23", "{1}a{2}{i}{3}"),  # fa'il: Nasser
    ("12ي3", "{1}a{2}{ii}{3}"),  # fa'il: Saeed
    ("ال123ي", "{1}a{2}{3}i"),  # nisba: al-Hamdi
    ("12و3", "{1}a{2}{u}{3}"),  # fa'ul: Hammoud
)
VOWELS = {"u": ("ou", "u", "oo"), "i": ("i", "e"), "ii": ("i", "ee", "ei")}
